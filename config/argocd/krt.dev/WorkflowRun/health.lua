-- A WorkflowRun is Healthy once it succeeded, Degraded once it failed or
-- was cancelled, Suspended while it waits for someone's approval, and
-- Progressing otherwise.
local hs = {status = "Progressing", message = "pending"}
if obj.status == nil or obj.status.phase == nil then
  return hs
end
local phase = obj.status.phase
local ready = nil
for _, c in ipairs(obj.status.conditions or {}) do
  if c.type == "Ready" then
    ready = c
  end
end
local message = obj.status.message or (ready and ready.message) or phase
if phase == "Succeeded" then
  hs.status = "Healthy"
  hs.message = message
  return hs
end
if phase == "Failed" or phase == "Cancelled" then
  hs.status = "Degraded"
  hs.message = phase .. ": " .. message
  return hs
end
if phase == "AwaitingApproval" then
  hs.status = "Suspended"
  hs.message = message
  return hs
end
-- A running run whose only unfinished work is a gate waiting for a
-- decision is suspended on a person, not progressing.
local waiting, running = nil, {}
for _, n in ipairs(obj.status.nodes or {}) do
  if n.phase == "Running" then
    table.insert(running, n.name)
  elseif n.phase == "Waiting" and n.message ~= nil and string.find(n.message, "approval", 1, true) then
    waiting = n
  end
end
if waiting ~= nil and #running == 0 then
  hs.status = "Suspended"
  hs.message = "step " .. waiting.name .. ": " .. waiting.message
  return hs
end
if #running > 0 then
  hs.message = "running: " .. table.concat(running, ", ")
else
  hs.message = (ready and ready.message) or phase
end
return hs
