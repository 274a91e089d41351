#pragma once

#include <string_view>

namespace chatd::net {

// Served at / when no --web-root is given: a small but complete client for the general room,
// so that `chatd` alone is usable. The full web client lives in frontend/.
inline constexpr std::string_view kBuiltinPage = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>chatd</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 0; display: flex; height: 100vh; color: #222; }
  #side { width: 180px; background: #f3f3f6; padding: 12px; overflow: auto; }
  #main { flex: 1; display: flex; flex-direction: column; }
  #log { flex: 1; overflow: auto; padding: 12px; margin: 0; list-style: none; }
  #log li { margin: 2px 0; overflow-wrap: anywhere; white-space: pre-wrap; }
  #log .who { font-weight: 600; margin-right: 6px; }
  #log .time { color: #888; font-size: 12px; margin-right: 6px; }
  #log .notice { color: #777; font-style: italic; }
  form { display: flex; gap: 6px; padding: 12px; border-top: 1px solid #ddd; }
  input { flex: 1; padding: 8px; font: inherit; }
  #login { margin: auto; display: flex; flex-direction: column; gap: 8px; width: 280px; }
  .hidden { display: none !important; }
</style>
</head>
<body>
<form id="login" aria-label="Sign in">
  <h1>chatd</h1>
  <input id="name" placeholder="Your name" autocomplete="username" required aria-label="Name">
  <input id="password" type="password" placeholder="Password" autocomplete="current-password" aria-label="Password">
  <button id="signin" type="submit">Sign in</button>
  <button id="register" type="button">Create account</button>
  <p id="error" role="alert"></p>
</form>
<aside id="side" class="hidden"><strong>Online</strong><ul id="online"></ul><p id="status" data-testid="status">offline</p></aside>
<main id="main" class="hidden">
  <ul id="log" aria-live="polite" data-testid="messages"></ul>
  <form id="composer"><input id="draft" placeholder="Message #general" aria-label="Message" autocomplete="off" data-testid="draft"><button data-testid="send">Send</button></form>
</main>
<script>
const $ = (id) => document.getElementById(id);
let token = null, me = null, socket = null, lastId = 0, config = null;
const seen = new Set(), online = new Set();
async function api(method, path, body) {
  const res = await fetch(path, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: 'Bearer ' + token } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const json = res.status === 204 ? {} : await res.json();
  if (!res.ok) throw new Error(json.error ? json.error.message : res.statusText);
  return json;
}
function show(message) {
  if (seen.has(message.id)) return;
  seen.add(message.id); lastId = Math.max(lastId, message.id);
  const li = document.createElement('li');
  if (message.kind !== 'text') { li.className = 'notice'; li.textContent = message.user_name + (message.kind === 'join' ? ' joined' : ' left'); }
  else {
    const time = document.createElement('span'); time.className = 'time'; time.textContent = new Date(message.ts).toLocaleTimeString();
    const who = document.createElement('span'); who.className = 'who'; who.textContent = message.user_name;
    li.append(time, who, document.createTextNode(message.content));
  }
  $('log').append(li); li.scrollIntoView();
}
function renderOnline() { $('online').replaceChildren(...[...online].sort().map((n) => { const li = document.createElement('li'); li.textContent = n; return li; })); }
async function catchUp() {
  for (;;) { const page = await api('GET', '/api/rooms/general/messages?after=' + lastId + '&limit=200'); page.messages.forEach(show); if (!page.has_more) break; }
}
function connect(delay = 500) {
  socket = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws?token=' + encodeURIComponent(token));
  socket.onopen = () => { $('status').textContent = 'online'; delay = 500; catchUp(); };
  socket.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    if (frame.type === 'message' && frame.message.room === 'general') show(frame.message);
    else if (frame.type === 'welcome') { online.clear(); frame.online.forEach((n) => online.add(n)); renderOnline(); }
    else if (frame.type === 'presence') { frame.online ? online.add(frame.user_name) : online.delete(frame.user_name); renderOnline(); }
    else if (frame.type === 'error') { $('status').textContent = frame.message; }
  };
  socket.onclose = (event) => { $('status').textContent = 'offline'; if (event.code !== 1008) setTimeout(() => connect(Math.min(delay * 2, 10000)), delay * Math.random()); };
}
async function signIn(register) {
  $('error').textContent = '';
  try {
    const body = { user_name: $('name').value.trim(), password: $('password').value };
    const session = await api('POST', register ? '/api/register' : '/api/login', body);
    token = session.token; me = session.user_name;
    $('login').classList.add('hidden'); $('side').classList.remove('hidden'); $('main').classList.remove('hidden');
    await catchUp(); connect(); $('draft').focus();
  } catch (e) { $('error').textContent = e.message; }
}
$('login').onsubmit = (e) => { e.preventDefault(); signIn(false); };
$('register').onclick = () => signIn(true);
$('composer').onsubmit = (e) => {
  e.preventDefault();
  const content = $('draft').value; if (!content || !socket || socket.readyState !== 1) return;
  socket.send(JSON.stringify({ type: 'send', room: 'general', content, client_msg_id: crypto.randomUUID ? crypto.randomUUID() : String(Date.now() + Math.random()) }));
  $('draft').value = '';
};
api('GET', '/api/config').then((c) => { config = c; if (c.auth === 'open') { $('password').classList.add('hidden'); $('register').classList.add('hidden'); } });
</script>
</body>
</html>
)HTML";

}  // namespace chatd::net
