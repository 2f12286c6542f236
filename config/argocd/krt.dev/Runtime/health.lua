-- A Runtime is Healthy while all its pods are ready, Degraded when krt
-- cannot run it (Stalled), and Progressing while pods are still coming up.
local hs = {status = "Progressing", message = "waiting for the runtime controller"}
if obj.status == nil then
  return hs
end
local ready, stalled = nil, nil
for _, c in ipairs(obj.status.conditions or {}) do
  if c.type == "Ready" then
    ready = c
  elseif c.type == "Stalled" then
    stalled = c
  end
end
-- Stalled is a verdict on the spec, and krt does not record the generation
-- it judged, so it comes before the generation check.
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.reason .. ": " .. (stalled.message or "")
elseif (obj.status.observedGeneration or 0) < (obj.metadata.generation or 0) then
  hs.message = "the runtime controller has not seen the latest spec"
elseif ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or "ready"
elseif ready ~= nil then
  hs.message = ready.message or ready.reason
end
return hs
