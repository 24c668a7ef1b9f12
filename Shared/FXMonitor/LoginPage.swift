/// The form the status page answers with (401) when the monitor has a token and the request does not carry
/// it: the token typed here becomes the cookie `fxstream_token` (this site only, `SameSite=Strict`, `Secure`
/// over HTTPS), which the page's API requests then carry. Nothing is sent anywhere but back to the monitor.
enum LoginPage {
    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>FXStream status: sign in</title>
    <style>
      body { font: 14px/1.4 system-ui, sans-serif; margin: 3em auto; max-width: 28em; color: #1b1f24; }
      input { font: inherit; width: 100%; margin: .5em 0; padding: .3em; } .muted { color: #57606a; }
    </style>
    </head>
    <body>
    <h1>FXStream status</h1>
    <p class="muted">This monitor asks for its access token (MONITOR_AUTH_TOKEN).</p>
    <input id="token" type="password" autocomplete="off" placeholder="token" autofocus>
    <button id="enter" type="button">Open the status page</button>
    <script>
    "use strict";
    function enter() {
      const token = document.getElementById("token").value.trim();
      if (!token) return;
      document.cookie = "fxstream_token=" + encodeURIComponent(token) + "; path=/; SameSite=Strict" + (location.protocol === "https:" ? "; Secure" : "");
      location.reload();
    }
    document.getElementById("enter").addEventListener("click", enter);
    document.getElementById("token").addEventListener("keydown", (e) => { if (e.key === "Enter") enter(); });
    </script>
    </body>
    </html>
    """#
}
