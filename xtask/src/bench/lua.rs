//! The wrk scripts that shape the event-driven scenarios' requests.
//!
//! Each wrk thread has its own Lua state, so every script derives a per-thread prefix from a
//! table address: two threads never write the same sensor or customer key.

/// `POST /support/customers/bench-{0..99}/tickets` in turn (the customers exist beforehand).
pub const CREATE_TICKETS: &str = r#"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"subject":"Printer on fire","description":"Smoke from tray 2","priority":"high"}'
local counter = 0
request = function()
  local path = "/support/customers/bench-" .. (counter % 100) .. "/tickets"
  counter = counter + 1
  return wrk.format(nil, path)
end
"#;

/// Readings of a steady 21.5 °C (no alerts) for 100 sensors per thread, one virtual second
/// apart per sensor, starting a week ago; `BATCH` readings per request.
const INGEST_TEMPLATE: &str = r#"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local prefix = "bench" .. string.sub(tostring({}), -8)
local start = os.time() - 7 * 24 * 3600
local counter = 0
request = function()
  local readings = {}
  for i = 1, BATCH do
    local sensor = prefix .. "-" .. (counter % 100)
    local at = os.date("!%Y-%m-%dT%H:%M:%SZ", start + math.floor(counter / 100))
    readings[i] = '{"sensor_id":"' .. sensor .. '","celsius":21.5,"at":"' .. at .. '"}'
    counter = counter + 1
  end
  local body = table.concat(readings, ",")
  if BATCH > 1 then body = "[" .. body .. "]" end
  return wrk.format(nil, "/telemetry/readings", nil, body)
end
"#;

/// The ingest script with `batch` readings per request.
pub fn ingest_readings(batch: u32) -> String {
    INGEST_TEMPLATE.replace("BATCH", &batch.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_batch_size_is_filled_in_everywhere() {
        let script = ingest_readings(100);
        assert!(!script.contains("BATCH"));
        assert!(script.contains("for i = 1, 100 do"));
        assert!(script.contains("if 100 > 1 then"));
    }
}
