"""The planner's inputs: prices and forecasts (docs/sources.md).

One module a source. The parsing of each answer is a pure function (series.py and the
`parse_*` functions: bytes or JSON in, slot series out); the I/O beside it (http.py,
the `fetch_*` coroutines, mqtt_prices.py, history.py) is separate. runner.py refreshes
every configured source on its period and keeps the latest good values with their age.

Times are Unix seconds (UTC), the clock the planner's `t_s` runs on in a live site.
"""
