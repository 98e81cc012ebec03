ALTER INDEX leads_search RESET (gin_pending_list_limit);
ALTER INDEX companies_search RESET (gin_pending_list_limit);
