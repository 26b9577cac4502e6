"""FHIR R4 at the edge: pure mappers between our model and FHIR resources, the REST facade, export."""
