-- wrk script of the throughput benchmark: each connection sends 16 GET /
-- requests back to back in one write, then waits for their 16 responses
-- before sending the next 16. wrk counts every response as a request; it
-- records one latency per batch (first request sent to last response read).
local depth = 16

init = function(args)
   local requests = {}
   for i = 1, depth do
      requests[i] = wrk.format("GET", "/")
   end
   batch = table.concat(requests)
end

request = function()
   return batch
end
