-- Retention (requestlog): renders still holding what their request left
-- (options with a v1 client's cookies and headers, webhook_url, metadata)
-- are found by age without a scan of every render; deliveries are
-- deleted by age across spaces.
CREATE INDEX renders_leftovers_idx ON renders(created_at) WHERE options <> '' OR webhook_url <> '' OR metadata <> '';
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries(created_at);
