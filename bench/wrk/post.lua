-- wrk script of the throughput benchmark: every request is a POST with a
-- 4096-byte body (application/octet-stream), which the servers echo.
-- wrk.format adds the Content-Length.
wrk.method = "POST"
wrk.body = string.rep("x", 4096)
wrk.headers["Content-Type"] = "application/octet-stream"
