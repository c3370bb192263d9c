-- post.lua: wrk script for POST requests that carry a session.
--   wrk -s post.lua URL -- SESSIONS UA PATH BODY
-- SESSIONS is a file of lines "TOKEN CSRF CONVERSATION_ID" (one per bench
-- user); each request takes the next line, so that every user's rate-limit
-- bucket and conversation grow as they would with that many people. BODY is
-- the JSON body; "@CONV@" in it becomes the line's conversation id. With
-- SESSIONS "-" no cookie or token is sent (login).
local sessions, idx, ua, path, body = {}, 0, nil, nil, nil
local counter = 1

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  ua, path, body = args[2], args[3], args[4]
  if args[1] ~= "-" then
    for line in io.lines(args[1]) do
      local tok, csrf, conv = line:match("^(%S+) (%S+) (%S+)$")
      if tok then sessions[#sessions + 1] = {tok, csrf, conv} end
    end
  end
  -- each thread starts at a different user
  idx = ((id or 1) - 1) * 7
end

function request()
  -- wrk.format() takes these instead of wrk.headers: keep the -H ones too
  local headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/json"
  headers["User-Agent"] = ua
  local b = body
  if #sessions > 0 then
    idx = idx % #sessions + 1
    local s = sessions[idx]
    headers["Cookie"] = "__Host-aifacade=" .. s[1]
    headers["X-CSRF-Token"] = s[2]
    b = body:gsub("@CONV@", s[3])
  end
  return wrk.format("POST", path, headers, b)
end
