-- A Run is Healthy once it succeeded and Degraded once it ended any other
-- way; until then it is Progressing, saying why it is not placed yet.
local hs = {status = "Progressing", message = "waiting to be scheduled"}
if obj.status == nil then
  return hs
end
local function condition(t)
  for _, c in ipairs(obj.status.conditions or {}) do
    if c.type == t then
      return c
    end
  end
  return nil
end
local phase = obj.status.phase or "Pending"
local ready = condition("Ready")
if phase == "Succeeded" then
  hs.status = "Healthy"
  hs.message = (ready and ready.message) or "succeeded"
elseif phase == "Failed" or phase == "Timeout" or phase == "Cancelled" then
  hs.status = "Degraded"
  hs.message = phase .. " (" .. (obj.status.reason or phase) .. "): " .. ((ready and ready.message) or obj.status.message or "")
else
  local scheduled = condition("Scheduled")
  if scheduled ~= nil and scheduled.status == "False" then
    hs.message = phase .. ": " .. (scheduled.message or scheduled.reason or "")
  elseif obj.status.assignedPod ~= nil then
    hs.message = phase .. " on pod " .. obj.status.assignedPod .. ", attempt " .. tostring(obj.status.attempt or 1)
  else
    hs.message = phase
  end
end
return hs
