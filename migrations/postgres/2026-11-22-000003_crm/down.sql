DROP TABLE lead_activities;
DROP TABLE notes;
DROP TABLE leads;
DROP TABLE companies;
