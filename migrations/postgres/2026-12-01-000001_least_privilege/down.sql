-- Nothing to undo: the privileges taken away were never needed.
SELECT 1;
