"""Programs: eligibility rules kept as data per organization, risk tiers, and enrolment (identified ->
outreach -> enrolled -> paused -> discharged, or declined / ineligible) with consent and assignment."""
