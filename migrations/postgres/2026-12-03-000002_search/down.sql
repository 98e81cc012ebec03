DROP INDEX companies_search;
DROP INDEX leads_search;
