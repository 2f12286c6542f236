-- A WorkflowRepository is Healthy when its last revision is applied,
-- Suspended when suspended, Degraded when it cannot fetch or apply, and
-- Progressing while it builds a revision.
local hs = {status = "Progressing", message = "waiting for the first fetch"}
if obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "suspended"
  return hs
end
if obj.status == nil then
  return hs
end
local byType = {}
for _, c in ipairs(obj.status.conditions or {}) do
  byType[c.type] = c
end
local ready, stalled, fetch = byType["Ready"], byType["Stalled"], byType["FetchFailed"]
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.reason .. ": " .. (stalled.message or "")
elseif fetch ~= nil and fetch.status == "True" then
  hs.status = "Degraded"
  hs.message = fetch.reason .. ": " .. (fetch.message or "")
elseif ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or "ready"
elseif ready ~= nil and ready.status == "False" and ready.reason ~= "Progressing" then
  hs.status = "Degraded"
  hs.message = ready.reason .. ": " .. (ready.message or "")
elseif ready ~= nil then
  hs.message = ready.message or ready.reason
end
return hs
