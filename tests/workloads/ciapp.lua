-- wrk: the ciapp endpoints in turn, so every run asks for the same mix
local paths = {"/checksum", "/orders", "/render", "/ping"}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
