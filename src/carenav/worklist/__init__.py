"""The care manager's worklist: one prioritized queue of what needs them, gathered from every source
(follow-ups, transitions, alerts and tasks, screens, referrals, authorizations, education, engagement,
time thresholds), and team pools whose work any member can claim, with a trail of claims and hand-offs."""
