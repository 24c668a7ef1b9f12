/// The monitor's status page at `/`: one self-contained HTML document (no asset from anywhere else, so it
/// works offline) that polls the JSON API every 2 s and redraws without a reload: service instances,
/// every stream with its state, reason, ticks and gaps, latency percentiles of every stage, rates per
/// source, consumer lag, the backfill queue, firing alerts, and per symbol a candlestick chart of its
/// latest 1-minute candles (inline SVG, refreshed every 10 s).
/// Element ids for tests and people: `#streams` rows carry `data-stream="<source>:<symbol>"` and
/// `data-state`; `#latency` rows `data-measure`; `#rates` rows `data-source`; `#lag` rows
/// `data-partition="<topic>:<partition>"`; `#books` rows carry `data-book="<source>:<symbol>"` and
/// `data-state`; `#quotes` rows `data-quote="<source>:<symbol>"`; `#backfill` holds `data-queued`; each chart is an
/// `svg.chart` with one `rect.candle` per candle.
enum StatusPage {
    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>FXStream status</title>
    <style>
      body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1b1f24; background: #f6f8fa; }
      h1 { font-size: 1.4em; margin: 0 0 .2em; } h2 { font-size: 1.1em; margin: 1.4em 0 .4em; }
      table { border-collapse: collapse; background: #fff; } th, td { padding: .3em .7em; border-bottom: 1px solid #e1e4e8; text-align: left; }
      .state { font-weight: 600; padding: .1em .5em; border-radius: .8em; }
      .live { background: #dafbe1; color: #116329; } .quiet { background: #ddf4ff; color: #0a3069; }
      .stale { background: #fff8c5; color: #7d4e00; } .down, .missing, .critical { background: #ffebe9; color: #a40e26; }
      .warning { background: #fff8c5; color: #7d4e00; } .alive { background: #dafbe1; color: #116329; }
      #charts { display: flex; flex-wrap: wrap; gap: 1em; } figure { margin: 0; background: #fff; padding: .5em; border: 1px solid #e1e4e8; }
      figcaption { font-weight: 600; } .muted { color: #57606a; }
    </style>
    </head>
    <body>
    <h1>FXStream status</h1>
    <div class="muted" id="updated">loading…</div>
    <h2>Alerts</h2><table><thead><tr><th>alert</th><th>severity</th><th>since</th><th>summary</th></tr></thead><tbody id="alerts"></tbody></table>
    <h2>Services</h2><table><thead><tr><th>instance</th><th>state</th><th>last heartbeat</th></tr></thead><tbody id="instances"></tbody></table>
    <h2>Streams</h2><table><thead><tr><th>source</th><th>symbol</th><th>state</th><th>since</th><th>why</th><th>ticks</th><th>gaps</th></tr></thead><tbody id="streams"></tbody></table>
    <h2>Latest quotes <span class="muted">(hot layer)</span></h2><table><thead><tr><th>source</th><th>symbol</th><th>bid</th><th>ask</th><th>last</th><th>market</th><th>age</th></tr></thead><tbody id="quotes"></tbody></table>
    <h2>Order books</h2><table><thead><tr><th>source</th><th>symbol</th><th>state</th><th>epoch</th><th>resyncs (last hour)</th><th>last checksum failure</th><th>last failure</th><th>instance</th></tr></thead><tbody id="books"></tbody></table>
    <h2>Latency <span class="muted" id="window"></span></h2><table><thead><tr><th>stage</th><th>source</th><th>samples</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th></tr></thead><tbody id="latency"></tbody></table>
    <h2>Rates (last minute)</h2><table><thead><tr><th>source</th><th>ticks</th><th>candles</th><th>gaps</th><th>rejects</th><th>reconnects</th></tr></thead><tbody id="rates"></tbody></table>
    <div class="muted" id="errors"></div>
    <h2>Consumer lag</h2><table><thead><tr><th>instance</th><th>topic</th><th>partition</th><th>lag</th><th>reported</th></tr></thead><tbody id="lag"></tbody></table>
    <h2>Backfill</h2><div id="backfill" class="muted">no backfiller heard from</div>
    <h2>Latest 1-minute candles</h2><div id="charts"></div>
    <script>
    "use strict";
    const text = (value) => String(value ?? "").replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;"}[c]));
    const ago = (ns) => { if (!ns) return "–"; const s = Math.max(0, Math.round(Date.now() / 1000 - ns / 1e9)); return s < 120 ? s + " s ago" : Math.round(s / 60) + " min ago"; };
    const ms = (us) => (us / 1000).toFixed(us < 10000 ? 2 : 0) + " ms";
    async function get(path) { const response = await fetch(path, {cache: "no-store"}); if (!response.ok) throw new Error(path + ": " + response.status); return response.json(); }
    function rows(id, html) { document.getElementById(id).innerHTML = html.join("") || '<tr><td colspan="7" class="muted">none</td></tr>'; }
    const charts = new Map();
    function chart(stream, data) {
      const candles = data.candles || [];
      const width = 320, height = 140, pad = 4;
      if (!candles.length) return '<svg class="chart" width="' + width + '" height="' + height + '"><text x="8" y="20" class="muted">no candles yet</text></svg>';
      const lows = candles.map((c) => parseFloat(c.low)), highs = candles.map((c) => parseFloat(c.high));
      const min = Math.min(...lows), max = Math.max(...highs), span = (max - min) || 1;
      const y = (v) => pad + (height - 2 * pad) * (1 - (parseFloat(v) - min) / span);
      const step = (width - 2 * pad) / candles.length, body = Math.max(1, step * 0.6);
      const parts = candles.map((c, i) => {
        const x = pad + i * step + step / 2, up = parseFloat(c.close) >= parseFloat(c.open);
        const color = c.origin === "stream" ? (up ? "#1a7f37" : "#cf222e") : (up ? "#54aeff" : "#8250df");
        const top = y(up ? c.close : c.open), bottom = y(up ? c.open : c.close);
        return '<line x1="' + x + '" x2="' + x + '" y1="' + y(c.high) + '" y2="' + y(c.low) + '" stroke="' + color + '"/>' +
               '<rect class="candle" data-origin="' + text(c.origin) + '" x="' + (x - body / 2) + '" y="' + top + '" width="' + body + '" height="' + Math.max(1, bottom - top) + '" fill="' + color + '"><title>' +
               text(new Date(c.start / 1e6).toISOString().slice(11, 16) + " O " + c.open + " H " + c.high + " L " + c.low + " C " + c.close + " V " + c.volume + " (" + c.origin + ")") + '</title></rect>';
      });
      return '<svg class="chart" width="' + width + '" height="' + height + '" viewBox="0 0 ' + width + ' ' + height + '">' + parts.join("") + '</svg>';
    }
    async function refreshCharts(streams) {
      const container = document.getElementById("charts");
      for (const s of streams) {
        const key = s.source + ":" + s.symbol;
        let figure = charts.get(key);
        if (!figure) {
          figure = document.createElement("figure"); figure.dataset.stream = key;
          figure.innerHTML = '<figcaption>' + text(key) + '</figcaption><div class="plot"></div>';
          container.appendChild(figure); charts.set(key, figure); figure.dataset.loaded = "0";
        }
        if (Date.now() - Number(figure.dataset.loaded) < 10000) continue;
        try {
          const data = await get("/api/candles?source=" + encodeURIComponent(s.source) + "&symbol=" + encodeURIComponent(s.symbol) + "&timeframe=1m&limit=40");
          figure.querySelector(".plot").innerHTML = chart(s, data); figure.dataset.loaded = String(Date.now());
        } catch (e) { figure.querySelector(".plot").innerHTML = '<span class="muted">' + text(e.message) + '</span>'; }
      }
    }
    async function refresh() {
      try {
        const [streams, instances, alerts, latency, pipeline, books, quotes] = await Promise.all([get("/api/streams"), get("/api/instances"), get("/api/alerts"), get("/api/latency"), get("/api/pipeline"), get("/api/books"), get("/api/quotes")]);
        rows("quotes", quotes.quotes.map((q) => '<tr data-quote="' + text(q.source + ":" + q.symbol) + '"><td>' + text(q.source) + '</td><td>' + text(q.symbol) + '</td><td>' + text(q.quote?.bid ?? "–") +
          '</td><td>' + text(q.quote?.ask ?? "–") + '</td><td>' + text(q.trade?.price ?? "–") + '</td><td>' + text(q.market) + '</td><td>' + (q.age_ms == null ? "–" : (q.age_ms / 1000).toFixed(1) + " s") + '</td></tr>'));
        const bookState = {in_sync: "live", resyncing: "stale", awaiting_snapshot: "quiet"};
        rows("books", books.books.map((b) => '<tr data-book="' + text(b.source + ":" + b.symbol) + '" data-state="' + text(b.state) + '"><td>' + text(b.source) + '</td><td>' + text(b.symbol) +
          '</td><td><span class="state ' + (bookState[b.state] || "") + '">' + text(b.state) + '</span></td><td>' + b.epoch + '</td><td>' + b.resyncs + ' (' + b.resyncs_last_hour + ')</td><td>' +
          ago(b.last_checksum_failure_ts) + '</td><td>' + text(b.last_error) + '</td><td>' + text(b.instance) + '</td></tr>'));
        rows("streams", streams.streams.map((s) => '<tr data-stream="' + text(s.source + ":" + s.symbol) + '" data-state="' + text(s.state) + '"><td>' + text(s.source) + '</td><td>' + text(s.symbol) +
          '</td><td><span class="state ' + text(s.state) + '">' + text(s.state) + '</span></td><td>' + ago(s.since) + '</td><td>' + text(s.reason) + '</td><td>' + s.ticks + '</td><td>' + s.gaps + '</td></tr>'));
        rows("instances", instances.instances.map((i) => '<tr data-instance="' + text(i.service + ":" + i.instance) + '"><td>' + text(i.service + ":" + i.instance) + '</td><td><span class="state ' + (i.alive ? "alive" : "missing") + '">' +
          (i.alive ? "alive" : "missing") + '</span></td><td>' + ago(i.last_seen_ts) + '</td></tr>'));
        rows("alerts", alerts.firing.map((a) => '<tr data-alert="' + text(a.id) + '"><td>' + text(a.rule) + '</td><td><span class="state ' + text(a.severity) + '">' + text(a.severity) + '</span></td><td>' +
          ago(a.started_ts) + '</td><td>' + text(a.summary) + '</td></tr>'));
        const stages = {exchange_to_receive: "exchange → receive", receive_to_ack: "receive → Kafka ack", tick_to_candle: "tick → candle"};
        document.getElementById("window").textContent = "(last " + Math.round(latency.window_ms / 60000) + " min)";
        rows("latency", Object.keys(stages).flatMap((m) => Object.keys(latency[m] || {}).sort().map((k) => { const p = latency[m][k];
          return '<tr data-measure="' + m + '"><td>' + stages[m] + '</td><td>' + text(k) + '</td><td>' + p.count + '</td><td>' + ms(p.p50_us) + '</td><td>' + ms(p.p90_us) + '</td><td>' + ms(p.p99_us) + '</td><td>' + ms(p.p999_us) + '</td></tr>'; })));
        const r = pipeline.rates, kinds = ["ticks", "candles", "gaps", "rejects", "reconnects"];
        const rateSources = [...new Set(kinds.flatMap((k) => Object.keys(r[k] || {})))].sort();
        rows("rates", rateSources.map((src) => '<tr data-source="' + text(src) + '"><td>' + text(src) + '</td>' + kinds.map((k) => '<td data-kind="' + k + '">' + ((r[k] || {})[src]?.last_minute ?? 0) + '</td>').join("") + '</tr>'));
        document.getElementById("errors").textContent = "errors in the last minute: " + (Object.keys(r.errors || {}).sort().map((svc) => svc + " " + r.errors[svc].last_minute).join(", ") || "none reported");
        rows("lag", pipeline.lag.map((l) => '<tr data-partition="' + text(l.topic + ":" + l.partition) + '"><td>' + text(l.service + ":" + l.instance) + '</td><td>' + text(l.topic) + '</td><td>' + l.partition + '</td><td>' + (l.lag ?? "–") + '</td><td>' + ago(l.reported_ts) + '</td></tr>'));
        const b = pipeline.backfill, backfill = document.getElementById("backfill");
        if (b) { backfill.dataset.queued = String(b.queued); backfill.textContent = b.queued + " gaps queued (" + b.open + " open, " + b.filling + " filling, " + b.failed + " failed), " + b.unfillable + " unfillable, " + b.filled + " filled" +
          (b.oldest_unfilled_from_ts ? "; oldest from " + ago(b.oldest_unfilled_from_ts) : "") + "; " + b.minutes_to_repair + " minutes to repair"; }
        document.getElementById("updated").textContent = "updated " + new Date().toISOString().slice(11, 19) + " UTC · " + streams.streams.length + " streams";
        await refreshCharts(streams.streams);
      } catch (e) {
        document.getElementById("updated").textContent = "cannot reach the monitor: " + e.message;
      }
    }
    refresh();
    setInterval(refresh, 2000);
    </script>
    </body>
    </html>
    """#
}
