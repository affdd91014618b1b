// ora2gcs dashboard: plain JavaScript, no build step, no dependencies.
// The API key lives in sessionStorage only and goes out as an Authorization
// header on every call: never in a URL, never in a log.
(function () {
  'use strict';

  var KEY = 'ora2gcs.key';
  var FLASH = 'ora2gcs.flash';
  var API = '/api/v1';

  // ---------------------------------------------------------------- helpers

  // h builds an element: h('a', {href: '#/x', class: 'btn', onclick: fn}, 'text', child…)
  function h(tag, attrs) {
    var el = tag.indexOf(':') > 0
      ? document.createElementNS('http://www.w3.org/2000/svg', tag.split(':')[1])
      : document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === undefined || v === null || v === false) return;
        if (k.slice(0, 2) === 'on' && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else if (k === 'text') el.textContent = v;
        else if (k === 'value' && 'value' in el) el.value = v;
        else if (k === 'checked') el.checked = !!v;
        else el.setAttribute(k, v === true ? '' : String(v));
      });
    }
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }
  function append(el, c) {
    if (c === undefined || c === null || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { append(el, x); }); return; }
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }
  function $(sel, root) { return (root || document).querySelector(sel); }

  var nf = new Intl.NumberFormat('en-US');
  function fmtInt(n) { return n === undefined || n === null ? '–' : nf.format(Math.round(n)); }
  function fmtBytes(n) {
    if (n === undefined || n === null) return '–';
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i === 0 ? n : n.toFixed(n < 10 ? 2 : 1)) + ' ' + u[i];
  }
  function fmtRate(n) { return n ? nf.format(Math.round(n)) + ' rows/s' : '–'; }
  function fmtDur(sec) {
    if (sec === undefined || sec === null || isNaN(sec)) return '–';
    if (sec < 60) return sec.toFixed(sec < 10 ? 2 : 1) + ' s';
    var m = Math.floor(sec / 60), s = Math.round(sec % 60);
    if (m < 60) return m + ' min ' + s + ' s';
    return Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
  }
  function fmtTime(iso) {
    if (!iso) return '–';
    var d = new Date(iso);
    if (isNaN(d)) return iso;
    return d.toLocaleString(undefined, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }
  // fmtZoned formats an instant as the wall clock of an IANA zone (the
  // viewer's own without one): "Wed 2026-03-11 01:00 GMT+9". A zone the
  // browser does not know falls back to UTC, said so.
  function fmtZoned(iso, zone) {
    var d = new Date(iso);
    if (!iso || isNaN(d)) return '–';
    var opts = { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', weekday: 'short', timeZoneName: 'shortOffset' };
    if (zone) opts.timeZone = zone;
    var parts;
    try { parts = new Intl.DateTimeFormat('en-US', opts).formatToParts(d); } catch (e) {
      return d.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
    }
    var p = {};
    parts.forEach(function (x) { p[x.type] = x.value; });
    return p.weekday + ' ' + p.year + '-' + p.month + '-' + p.day + ' ' + p.hour + ':' + p.minute + ' ' + p.timeZoneName;
  }
  function localZone() {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (e) { return ''; }
  }
  function jobDuration(j) {
    if (!j.started_at) return null;
    var end = j.completed_at ? new Date(j.completed_at) : new Date();
    return (end - new Date(j.started_at)) / 1000;
  }
  function badge(status) { return h('span', { class: 'badge ' + (status || ''), 'data-status': status || '' }, status || '–'); }
  function enc(s) { return encodeURIComponent(s); }
  function sleep(ms, signal) {
    return new Promise(function (resolve) {
      var t = setTimeout(resolve, ms);
      if (signal) signal.addEventListener('abort', function () { clearTimeout(t); resolve(); }, { once: true });
    });
  }

  // ------------------------------------------------------------------ API

  function ApiError(status, body, fallback) {
    var e = (body && body.error) || {};
    this.status = status;
    this.code = e.code || (status ? 'http_' + status : 'network');
    this.message = e.message || fallback || ('request failed with status ' + status);
    this.requestId = e.request_id || '';
    this.jobId = e.job_id || '';
    this.transportId = e.transport_id || '';
    this.field = e.field || '';
  }
  ApiError.prototype = Object.create(Error.prototype);

  function getKey() { return sessionStorage.getItem(KEY) || ''; }

  function headers(key, extra) {
    var hd = { Accept: 'application/json' };
    if (key) hd.Authorization = 'Bearer ' + key;
    if (extra) Object.keys(extra).forEach(function (k) { hd[k] = extra[k]; });
    return hd;
  }

  // request calls the API and resolves to its JSON; any non-2xx becomes an
  // ApiError carrying the API's message. A 401 signs the user out.
  function request(method, path, body, opts) {
    opts = opts || {};
    var key = opts.key !== undefined ? opts.key : getKey();
    var init = { method: method, headers: headers(key), cache: 'no-store', signal: opts.signal, credentials: 'omit' };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(path.charAt(0) === '/' && path.indexOf('/api/') === 0 ? path : API + path, init).then(function (res) {
      return res.text().then(function (text) {
        var data = null;
        if (text) { try { data = JSON.parse(text); } catch (e) { data = null; } }
        if (res.ok) return data;
        if (opts.allow && opts.allow.indexOf(res.status) >= 0 && data && !data.error) return data;
        var err = new ApiError(res.status, data, res.status >= 500 ? 'the server failed (' + res.status + ')' : '');
        if (res.status === 401 && !opts.noSignout) signOut(err.message);
        throw err;
      });
    }, function (e) {
      if (e && e.name === 'AbortError') throw e;
      throw new ApiError(0, null, 'cannot reach the server: ' + (e && e.message ? e.message : 'network error'));
    });
  }
  var api = {
    get: function (p, o) { return request('GET', p, undefined, o); },
    post: function (p, b, o) { return request('POST', p, b === undefined ? {} : b, o); },
    put: function (p, b, o) { return request('PUT', p, b, o); },
    del: function (p, o) { return request('DELETE', p, undefined, o); }
  };

  function signOut(message) {
    sessionStorage.removeItem(KEY);
    if (message) sessionStorage.setItem(FLASH, message);
    var back = location.hash && location.hash.indexOf('#/signin') !== 0 ? location.hash : '';
    go('#/signin' + (back ? '?next=' + enc(back) : ''));
  }

  // go shows hash, re-rendering when it is the one already shown.
  function go(hash) {
    if (location.hash === hash) route();
    else location.hash = hash;
  }

  // ------------------------------------------------------------- SSE client

  // parseSSE feeds text chunks and calls onEvent({id, event, data}) per
  // complete message (WHATWG event-stream rules: lines end in \n, \r\n or \r;
  // a blank line dispatches; ":" lines are comments).
  function SSEParser(onEvent) {
    var buf = '', id = null, ev = '', data = [], pendingCR = false;
    function line(l) {
      if (l === '') {
        if (data.length) onEvent({ id: id, event: ev || 'message', data: data.join('\n') });
        ev = ''; data = [];
        return;
      }
      if (l.charAt(0) === ':') return;
      var i = l.indexOf(':'), f = i < 0 ? l : l.slice(0, i), v = i < 0 ? '' : l.slice(i + 1);
      if (v.charAt(0) === ' ') v = v.slice(1);
      if (f === 'data') data.push(v);
      else if (f === 'event') ev = v;
      else if (f === 'id' && v.indexOf('\0') < 0) id = v;
    }
    this.push = function (chunk) {
      if (pendingCR && chunk.charAt(0) === '\n') chunk = chunk.slice(1);
      pendingCR = false;
      buf += chunk;
      var start = 0;
      for (var i = 0; i < buf.length; i++) {
        var c = buf.charAt(i);
        if (c === '\n' || c === '\r') {
          line(buf.slice(start, i));
          if (c === '\r') {
            if (i + 1 < buf.length) { if (buf.charAt(i + 1) === '\n') i++; } else pendingCR = true;
          }
          start = i + 1;
        }
      }
      buf = buf.slice(start);
    };
    this.lastId = function () { return id; };
  }

  // streamStatus follows GET /transport/:id/status with fetch (EventSource
  // cannot send the Authorization header), reconnecting with Last-Event-ID
  // after a drop until "complete" or abort. The backoff (0.5 s doubling to
  // 15 s, ±20 %) starts over only after a connection delivered new events:
  // a connection that opens and ends without any counts as a failure, so a
  // server that keeps ending streams is not hammered every 0.5 s. After
  // "complete" it never reconnects.
  // cb: onState(state, info), onEvent(type, data, id).
  function streamStatus(transportID, signal, cb) {
    var lastId = null, attempt = 0, fresh = false;
    function once() {
      var hd = headers(getKey(), { Accept: 'text/event-stream' });
      if (lastId !== null) hd['Last-Event-ID'] = lastId;
      return fetch(API + '/transport/' + enc(transportID) + '/status', { headers: hd, cache: 'no-store', signal: signal, credentials: 'omit' })
        .then(function (res) {
          if (!res.ok) {
            return res.text().then(function (t) {
              var d = null; try { d = JSON.parse(t); } catch (e) { d = null; }
              var err = new ApiError(res.status, d);
              if (res.status === 401) { signOut(err.message); err.fatal = true; }
              if (res.status === 404) err.fatal = true;
              throw err;
            });
          }
          cb.onState('live', { reconnectable: true });
          var reader = res.body.getReader(), dec = new TextDecoder(), done = false;
          var parser = new SSEParser(function (m) {
            if (m.id !== null) lastId = m.id;
            var data = null;
            try { data = JSON.parse(m.data); } catch (e) { return; }
            fresh = true;
            cb.onEvent(m.event, data, m.id);
            if (m.event === 'complete') done = true;
          });
          function pump() {
            return reader.read().then(function (r) {
              if (r.done) { parser.push(dec.decode()); return done; }
              parser.push(dec.decode(r.value, { stream: true }));
              if (done) { reader.cancel().catch(function () {}); return true; }
              return pump();
            });
          }
          return pump();
        });
    }
    function loop() {
      if (signal.aborted) return Promise.resolve();
      fresh = false;
      return once().then(function (completed) {
        if (completed) { cb.onState('ended', {}); return; }
        return retry(null);
      }, function (err) {
        if (signal.aborted) return;
        if (err && err.fatal) { cb.onState('failed', { error: err }); return; }
        return retry(err);
      });
    }
    function retry(err) {
      if (fresh) attempt = 0; // the last connection made progress
      attempt++;
      var delay = Math.min(500 * Math.pow(2, attempt - 1), 15000) * (0.8 + Math.random() * 0.4);
      cb.onState('reconnecting', { attempt: attempt, delay: delay, error: err });
      return sleep(delay, signal).then(loop);
    }
    return loop();
  }

  // --------------------------------------------------------------- routing

  var view = $('#view');
  var current = null; // AbortController of the page on screen

  function parseHash() {
    var raw = location.hash.replace(/^#/, '') || '/transports';
    var q = raw.indexOf('?'), path = q < 0 ? raw : raw.slice(0, q), query = {};
    if (q >= 0) new URLSearchParams(raw.slice(q + 1)).forEach(function (v, k) { query[k] = v; });
    return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: query };
  }

  function route() {
    if (current) current.abort();
    current = new AbortController();
    var signal = current.signal;
    var r = parseHash(), p = r.parts;
    window.scrollTo(0, 0);
    if (!getKey() || p[0] === 'signin') {
      var next = p[0] === 'signin' ? r.query.next : location.hash;
      if (!next || next.charAt(0) !== '#' || next.indexOf('#/signin') === 0) next = '#/transports';
      if (getKey()) { go(next); return; }
      return pageSignIn(next, signal);
    }
    $('#top').hidden = false;
    var nav = p[0] === 'job' ? 'jobs' : p[0] === 'transport' ? 'transports' : p[0];
    document.querySelectorAll('[data-nav]').forEach(function (a) { a.classList.toggle('active', a.getAttribute('data-nav') === nav); });
    if (p[0] === 'transports' && p[1] === 'new') return pageNewTransport(signal);
    if (p[0] === 'transports') return pageTransports(r.query, signal);
    if (p[0] === 'transport' && p[1]) return pageTransport(p[1], signal);
    if (p[0] === 'job' && p[1]) return pageJob(p[1], signal);
    if (p[0] === 'jobs') return pageJobs(r.query, signal);
    if (p[0] === 'tables' && p[1] && p[2] === 'sample') return pageSample(p[1], signal);
    if (p[0] === 'tables') return pageTables(r.query, signal);
    if (p[0] === 'status') return pageStatus(signal);
    page('notfound', h('div', { class: 'panel empty' }, 'No such page. ', h('a', { href: '#/transports' }, 'Go to the transports.')));
  }

  function page(name) {
    clear(view).setAttribute('data-page', name);
    for (var i = 1; i < arguments.length; i++) append(view, arguments[i]);
  }

  // showError renders an API error as a banner; 401 already signed out.
  function errorBanner(err, id) {
    if (err && err.name === 'AbortError') return null;
    var b = h('div', { class: 'banner banner-error', role: 'alert', id: id || null, 'data-code': err.code || '' },
      h('strong', {}, err.status ? 'Error ' + err.status + ': ' : 'Error: '), err.message || String(err));
    if (err.requestId) append(b, h('div', { class: 'rid' }, 'request id ' + err.requestId));
    return b;
  }
  function showErrorIn(el, err) {
    if (!err || err.name === 'AbortError' || err.status === 401) return;
    clear(el);
    append(el, errorBanner(err));
  }

  function pager(p, go) {
    var pages = Math.max(1, Math.ceil(p.total / p.page_size));
    return h('div', { class: 'pager' },
      h('button', { class: 'btn btn-quiet btn-small', id: 'page-prev', disabled: p.page <= 1, onclick: function () { go(p.page - 1); } }, '← Newer'),
      h('span', { class: 'info', id: 'page-info' }, 'Page ' + p.page + ' of ' + pages + ' · ' + fmtInt(p.total) + ' total'),
      h('button', { class: 'btn btn-quiet btn-small', id: 'page-next', disabled: p.page >= pages, onclick: function () { go(p.page + 1); } }, 'Older →'));
  }

  function withQuery(base, q) {
    var s = new URLSearchParams();
    Object.keys(q).forEach(function (k) { if (q[k] !== '' && q[k] !== undefined && q[k] !== null) s.set(k, q[k]); });
    var t = s.toString();
    return base + (t ? '?' + t : '');
  }

  // ---------------------------------------------------------------- sign-in

  function pageSignIn(next, signal) {
    $('#top').hidden = true;
    var flash = sessionStorage.getItem(FLASH);
    sessionStorage.removeItem(FLASH);
    var input = h('input', { type: 'password', id: 'apikey', name: 'apikey', autocomplete: 'off', spellcheck: 'false', required: true, placeholder: 'API key' });
    var msg = h('div', { id: 'signin-error', class: 'banner banner-error', role: 'alert', hidden: true });
    var btn = h('button', { class: 'btn', type: 'submit', id: 'signin-submit' }, 'Sign in');
    var form = h('form', { class: 'panel signin', id: 'signin-form', novalidate: true, onsubmit: function (e) {
      e.preventDefault();
      var key = input.value.trim();
      msg.hidden = true;
      if (!key) { msg.textContent = 'Enter the API key of this server.'; msg.hidden = false; return; }
      btn.disabled = true;
      api.get('/transports?page_size=1', { key: key, signal: signal, noSignout: true }).then(function () {
        sessionStorage.setItem(KEY, key);
        input.value = '';
        go(next);
      }, function (err) {
        if (err.name === 'AbortError') return;
        btn.disabled = false;
        msg.textContent = err.status === 401 ? 'Sign-in failed: ' + err.message : err.message;
        msg.hidden = false;
        input.select();
      });
    } },
      h('h1', {}, 'ora2gcs'),
      h('p', { class: 'hint' }, 'Sign in with the API key of this server (API_KEY, or the key file in its data directory). It is kept in this tab only.'),
      flash ? h('div', { class: 'banner banner-warn', id: 'signin-flash', role: 'status' }, 'You were signed out: ' + flash) : null,
      msg,
      h('div', { class: 'field' }, h('label', { for: 'apikey' }, 'API key'), input),
      btn);
    page('signin', form);
    input.focus();
  }

  // ------------------------------------------------------------- transports

  // execute starts a run of a transport (opts: {} / {queue: true} /
  // {force: true}) and shows in box what came of it: the job page, a queued
  // run, or a 409 with what the user can do next (watch the running job or
  // queue behind it; run anyway outside the window).
  function execute(id, opts, btn, box, signal, onQueued) {
    if (btn) btn.disabled = true;
    clear(box);
    api.post('/transport/' + enc(id) + '/execute', opts, { signal: signal }).then(function (r) {
      if (btn) btn.disabled = false;
      if (r && r.status === 'queued' && r.queued) {
        append(box, h('div', { class: 'banner banner-ok', role: 'status', id: 'queued-msg', 'data-queue-id': r.queued.id },
          'Queued as ' + r.queued.id + ', number ' + r.queued.position + ' in the queue: it starts when the slot is free.'));
        if (onQueued) onQueued(r.queued);
        return;
      }
      location.hash = '#/job/' + enc(r.job_id);
    }, function (err) {
      if (btn) btn.disabled = false;
      if (err.name === 'AbortError' || err.status === 401) return;
      if (err.status === 409 && err.code === 'outside_window') {
        append(box, h('div', { class: 'banner banner-warn', role: 'alert', id: 'outside-window' },
          'Not started: ' + err.message.replace(/\s*\(send \{"force": true\} to run anyway\)$/, '') + '. ',
          h('button', { type: 'button', class: 'btn btn-small', id: 'execute-force', onclick: function (e) {
            execute(id, { force: true }, e.currentTarget, box, signal, onQueued);
          } }, 'Run anyway')));
      } else if (err.status === 409) {
        append(box, h('div', { class: 'banner banner-warn', role: 'alert', id: 'conflict' },
          'Another job is running' + (err.jobId ? ' (' + err.jobId + (err.transportId ? ' of ' + err.transportId : '') + ')' : '') + '; only one job runs at a time. ',
          err.jobId ? h('a', { href: '#/job/' + enc(err.jobId), id: 'conflict-link' }, 'Watch the running job →') : null, ' ',
          h('button', { type: 'button', class: 'btn btn-small', id: 'execute-queue', onclick: function (e) {
            execute(id, opts.force ? { queue: true, force: true } : { queue: true }, e.currentTarget, box, signal, onQueued);
          } }, 'Queue this run')));
      } else append(box, errorBanner(err));
      box.scrollIntoView({ block: 'nearest' });
    });
  }

  function executeButton(t, box, signal, onQueued) {
    return h('button', { class: 'btn btn-small', type: 'button', 'data-execute': t.id, onclick: function (e) {
      execute(t.id, {}, e.currentTarget, box, signal, onQueued);
    } }, 'Execute');
  }

  // loadQueue resolves to the waiting runs, or null when the server has no
  // queue (501) so the views leave it out.
  function loadQueue(signal) {
    return api.get('/queue', { signal: signal }).then(function (q) { return q.items || []; }, function (err) {
      if (err.status === 501) return null;
      throw err;
    });
  }

  // queuePositions maps a transport id to the position of its first
  // waiting run.
  function queuePositions(items) {
    var pos = {};
    (items || []).forEach(function (q) { if (!pos[q.transport_id]) pos[q.transport_id] = q.position; });
    return pos;
  }
  function ordinal(n) {
    var s = ['th', 'st', 'nd', 'rd'], v = n % 100;
    return n + (s[(v - 20) % 10] || s[v] || s[0]);
  }

  // queuePanel renders the queue into el: position, transport, what queued
  // it, and a cancel button (two steps: Cancel, then Confirm) per run.
  // names maps transport ids to names where known; mine marks the rows of
  // the transport on screen. reload is called after a cancel.
  function queuePanel(el, items, names, mine, signal, reload) {
    clear(el);
    append(el, [h('h2', { id: 'queue-title' }, 'Queue'),
      h('p', { class: 'hint' }, 'One job runs at a time; these runs wait for the slot, first in, first out.')]);
    var msg = h('div', { id: 'queue-msg' });
    append(el, msg);
    if (!items.length) { append(el, h('div', { class: 'empty', id: 'queue-empty' }, 'No run is waiting.')); return; }
    append(el, h('div', { class: 'table-wrap' }, h('table', { class: 'list cards', id: 'queue-table', 'aria-labelledby': 'queue-title' },
      h('thead', {}, h('tr', {}, h('th', { class: 'num' }, '#'), h('th', {}, 'Transport'), h('th', {}, 'Trigger'), h('th', { class: 'opt' }, 'Queued'), h('th', {}, ''))),
      h('tbody', {}, items.map(function (q) {
        var actions = h('div', { class: 'actions' });
        function ask() {
          clear(actions);
          append(actions, h('button', { type: 'button', class: 'btn btn-small btn-danger', 'data-cancel-queued': q.id, onclick: function () { ask2(); } },
            'Cancel run'));
        }
        function ask2() {
          clear(actions);
          append(actions, [
            h('button', { type: 'button', class: 'btn btn-small btn-danger', 'data-confirm-cancel': q.id, onclick: function (e) {
              e.currentTarget.disabled = true;
              clear(msg);
              api.del('/queue/' + enc(q.id), { signal: signal }).then(function () {
                reload('Run ' + q.id + ' of ' + q.transport_id + ' cancelled.');
              }, function (err) {
                if (err.name === 'AbortError' || err.status === 401) return;
                if (err.status === 404) { reload('Run ' + q.id + ' is no longer queued: it started or was cancelled.'); return; }
                ask();
                append(msg, errorBanner(err));
              });
            } }, 'Confirm cancel'),
            h('button', { type: 'button', class: 'btn btn-quiet btn-small', onclick: ask }, 'Keep')]);
          actions.querySelector('button').focus();
        }
        ask();
        var name = names[q.transport_id];
        return h('tr', { 'data-queue-id': q.id, 'data-transport': q.transport_id, 'data-position': q.position, class: q.transport_id === mine ? 'mine' : null },
          h('td', { class: 'num', 'data-label': '#' }, q.position),
          h('td', { 'data-label': 'Transport' }, h('div', { class: 'cell-text' },
            h('a', { class: 'mono nowrap', href: '#/transport/' + enc(q.transport_id) }, q.transport_id),
            name ? h('div', { class: 'hint' }, name) : null)),
          h('td', { 'data-label': 'Trigger' }, h('div', {}, q.trigger + (q.force ? ' (forced)' : ''),
            q.due_at ? h('div', { class: 'hint' }, 'due ' + fmtZoned(q.due_at)) : null)),
          h('td', { class: 'opt' }, fmtZoned(q.enqueued_at)),
          h('td', { 'data-label': '' }, actions));
      })))));
  }

  // scheduleCell is the transports list's summary of a schedule.
  function scheduleCell(t, pos) {
    var out = [];
    if (t.schedule) {
      out.push(h('div', { class: 'mono cell-text' }, t.schedule.cron), h('div', { class: 'hint' }, t.schedule.timezone));
      out.push(h('div', { class: 'hint', 'data-next-run': t.schedule.next_run || '' }, t.schedule.next_run ? 'next ' + fmtZoned(t.schedule.next_run) : 'never due'));
    } else out.push(h('span', { class: 'hint' }, 'manual'));
    if (pos) out.push(h('div', {}, h('span', { class: 'badge pending', 'data-queue-position': pos }, 'queued ' + ordinal(pos))));
    return out;
  }

  function pageTransports(query, signal) {
    var pg = parseInt(query.page, 10) || 1;
    var flash = sessionStorage.getItem(FLASH);
    sessionStorage.removeItem(FLASH);
    var box = h('div', { id: 'transports-msg' });
    var body = h('div', { class: 'loading' }, 'Loading transports…');
    var queueEl = h('div', { class: 'panel', id: 'queue-panel', hidden: true });
    page('transports',
      h('div', { class: 'page-head' }, h('div', {}, h('h1', {}, 'Transports'), h('div', { class: 'sub' }, 'Named groups of tables exported together; each execution is a new job version.')),
        h('a', { class: 'btn', href: '#/transports/new', id: 'new-transport' }, '+ New transport')),
      flash ? h('div', { class: 'banner banner-ok', role: 'status', id: 'flash' }, flash) : null,
      box, h('div', { class: 'panel' }, body), queueEl);
    function reload(note) {
      if (note) sessionStorage.setItem(FLASH, note);
      go(withQuery('#/transports', { page: pg > 1 ? pg : '' }));
    }
    Promise.all([api.get('/transports?page_size=20&page=' + pg, { signal: signal }), loadQueue(signal)]).then(function (res) {
      var p = res[0], queue = res[1], pos = queuePositions(queue), names = {};
      clear(body).className = '';
      p.items.forEach(function (t) { names[t.id] = t.name; });
      if (queue && queue.length) {
        queueEl.hidden = false;
        queuePanel(queueEl, queue, names, '', signal, reload);
      }
      if (!p.items.length) {
        append(body, h('div', { class: 'empty', id: 'transports-empty' }, 'No transports yet. ', h('a', { href: '#/transports/new' }, 'Create one'), ' to export tables.'));
        return;
      }
      append(body, h('div', { class: 'table-wrap' }, h('table', { class: 'list cards', id: 'transports-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Transport'), h('th', {}, 'Tables'), h('th', { class: 'opt' }, 'Bucket'),
          h('th', {}, 'Status'), h('th', {}, 'Schedule'), h('th', { class: 'opt' }, 'Last job'), h('th', {}, ''))),
        h('tbody', {}, p.items.map(function (t) {
          return h('tr', { 'data-transport-id': t.id },
            h('td', { 'data-label': 'Transport' }, h('div', { class: 'cell-text' },
              h('div', {}, h('a', { class: 'tname', href: '#/transport/' + enc(t.id), 'data-open-transport': t.id }, t.name)),
              h('div', { class: 'mono hint nowrap' }, t.id), t.description ? h('div', { class: 'hint opt' }, t.description) : null)),
            h('td', { class: 'mono cell-text', 'data-label': 'Tables' }, t.tables.join(', ')),
            h('td', { class: 'opt mono' }, t.target_bucket),
            h('td', { 'data-label': 'Status' }, badge(t.status)),
            h('td', { 'data-label': 'Schedule', class: 'sched' }, h('div', { class: 'cell-text' }, scheduleCell(t, pos[t.id]))),
            h('td', { class: 'opt' }, t.last_job_id ? h('a', { href: '#/job/' + enc(t.last_job_id) }, t.last_job_id + ' ' + (t.last_job_version || '')) : '–'),
            h('td', { 'data-label': '' }, h('div', { class: 'actions' }, executeButton(t, box, signal, function (q) { reload('Queued as ' + q.id + ', number ' + q.position + ' in the queue.'); }),
              h('a', { class: 'btn btn-quiet btn-small', href: '#/transport/' + enc(t.id) }, 'Details'),
              h('a', { class: 'btn btn-quiet btn-small', href: withQuery('#/jobs', { transport_id: t.id }) }, 'History'))));
        })))));
      if (p.total > p.page_size) append(body, pager(p, function (n) { location.hash = withQuery('#/transports', { page: n }); }));
    }, function (err) { showErrorIn(body, err); });
  }

  function pageNewTransport(signal) {
    var selected = []; // names in pick order
    var known = {}; // name → table item
    var msg = h('div', { id: 'create-msg' });
    var chips = h('div', { class: 'chips', id: 'picked' });
    var list = h('div', { class: 'picker', id: 'picker', role: 'group', 'aria-label': 'Tables' }, h('div', { class: 'loading' }, 'Loading tables…'));
    var search = h('input', { type: 'search', id: 'table-search', placeholder: 'Search tables, e.g. VBR', autocomplete: 'off' });
    var name = h('input', { type: 'text', id: 't-name', name: 'name', required: true, maxlength: 200, placeholder: 'SAP Sales Data Export' });
    var bucket = h('input', { type: 'text', id: 't-bucket', name: 'target_bucket', placeholder: 'default bucket of the server', autocomplete: 'off' });
    var desc = h('textarea', { id: 't-desc', name: 'description', rows: 2, maxlength: 2000 });
    var submit = h('button', { class: 'btn', type: 'submit', id: 'create-submit' }, 'Create transport');

    function renderChips() {
      clear(chips);
      if (!selected.length) { append(chips, h('span', { class: 'hint' }, 'No table selected.')); return; }
      selected.forEach(function (n) {
        append(chips, h('span', { class: 'chip', 'data-picked': n }, n,
          h('button', { type: 'button', 'aria-label': 'Remove ' + n, onclick: function () { toggle(n, false); } }, '×')));
      });
    }
    function toggle(n, on) {
      var i = selected.indexOf(n);
      if (on && i < 0) selected.push(n);
      if (!on && i >= 0) selected.splice(i, 1);
      var cb = document.getElementById('pick-' + n);
      if (cb) cb.checked = on;
      renderChips();
    }
    var seq = 0;
    function load() {
      var my = ++seq;
      api.get('/tables?page_size=200&q=' + enc(search.value.trim()), { signal: signal }).then(function (p) {
        if (my !== seq) return;
        clear(list);
        if (!p.items.length) { append(list, h('div', { class: 'empty', id: 'picker-empty' }, 'No table matches “' + search.value.trim() + '”.')); return; }
        p.items.forEach(function (t) {
          known[t.name] = t;
          append(list, h('label', { class: 'pick', for: 'pick-' + t.name, 'data-table': t.name },
            h('input', { type: 'checkbox', id: 'pick-' + t.name, value: t.name, checked: selected.indexOf(t.name) >= 0,
              onchange: function (e) { toggle(t.name, e.currentTarget.checked); } }),
            h('span', { class: 'name' }, t.name),
            h('span', { class: 'meta', 'data-rows': t.rows }, (t.rows_exact ? '' : '~') + fmtInt(t.rows) + ' rows · ' + t.column_count + ' cols')));
        });
        if (p.total > p.items.length) append(list, h('div', { class: 'hint pick' }, (p.total - p.items.length) + ' more; refine the search.'));
      }, function (err) { if (my === seq) showErrorIn(list, err); });
    }
    var timer = null;
    search.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(load, 200); });

    var form = h('form', { class: 'panel', id: 'create-form', novalidate: true, onsubmit: function (e) {
      e.preventDefault();
      clear(msg);
      if (!name.value.trim()) { append(msg, errorBanner({ message: 'name: required' })); name.focus(); return; }
      if (!selected.length) { append(msg, errorBanner({ message: 'tables: select at least one table' })); return; }
      submit.disabled = true;
      var body = { name: name.value.trim(), tables: selected.slice(), description: desc.value.trim() };
      if (bucket.value.trim()) body.target_bucket = bucket.value.trim();
      api.post('/transport', body, { signal: signal }).then(function (t) {
        sessionStorage.setItem(FLASH, 'Transport ' + t.id + ' “' + t.name + '” created with ' + t.tables.length + ' tables.');
        go('#/transports');
      }, function (err) {
        submit.disabled = false;
        if (err.name === 'AbortError' || err.status === 401) return;
        append(msg, errorBanner(err));
      });
    } },
      msg,
      h('div', { class: 'grid2' },
        h('div', {},
          h('div', { class: 'field' }, h('label', { for: 't-name' }, 'Name'), name),
          h('div', { class: 'field' }, h('label', { for: 't-bucket' }, 'Target bucket ', h('span', { class: 'hint' }, '(optional)')), bucket),
          h('div', { class: 'field' }, h('label', { for: 't-desc' }, 'Description ', h('span', { class: 'hint' }, '(optional)')), desc)),
        h('div', {},
          h('div', { class: 'field' }, h('label', { for: 'table-search' }, 'Tables'), search),
          list, chips)),
      h('div', { class: 'actions' }, submit, h('a', { class: 'btn btn-quiet', href: '#/transports' }, 'Cancel')));
    page('transport-new', h('div', { class: 'page-head' }, h('h1', {}, 'New transport')), form);
    renderChips();
    load();
    name.focus();
  }

  // --------------------------------------------------- one transport's policies

  // windowText renders one allowed-window rule: "mon-fri 22:00–06:00".
  function windowText(r) { return (r.days || 'every day') + ' ' + r.from + '–' + r.to; }

  // retentionState is the enforcement of a transport's retention as one
  // word (enforced, not-enforced, drift, unknown) and its explanation.
  function retentionState(t) {
    var r = t.retention;
    if (!r) return { state: 'unknown', label: 'not checked yet', detail: 'The server checks enforcement at start-up and when the retention changes.' };
    if (r.enforced) return { state: 'enforced', label: 'enforced', detail: r.by === 'lifecycle' ? 'by the bucket\u2019s lifecycle rule for this transport\u2019s prefix' : 'by the server\u2019s daily sweep of old versions' };
    if (/^drift: /.test(r.reason || '')) return { state: 'drift', label: 'drift', detail: r.reason.replace(/^drift: /, '') };
    return { state: 'not-enforced', label: 'not enforced', detail: r.reason || 'no reason given' };
  }

  function pageTransport(id, signal) {
    var st = { t: null, queue: null };
    var title = h('h1', { class: 'tname', id: 'transport-name' }, id);
    var sub = h('div', { class: 'sub', id: 'transport-sub' }, 'Loading…');
    var box = h('div', { id: 'transport-msg' });
    var execBox = h('div', { id: 'transport-exec-msg' });
    var head = h('div', { class: 'page-head' }, h('div', { class: 'cell-text' }, title, sub), h('div', { class: 'actions', id: 'transport-actions' }));
    var schedView = h('div', { id: 'schedule-view' });
    var windowView = h('div', { id: 'window-view' });
    var retentionView = h('div', { id: 'retention-view' });
    var queueEl = h('div', { class: 'panel', id: 'queue-panel' }, h('div', { class: 'loading' }, 'Loading the queue…'));
    var loading = h('div', { class: 'loading' }, 'Loading the transport…');

    // The schedule form: each field has its label, a hint and its own error
    // line the API's validation errors ({"error": {"field": "cron"}}) go to.
    var zones = [];
    try { zones = Intl.supportedValuesOf ? Intl.supportedValuesOf('timeZone') : []; } catch (e) { zones = []; }
    if (zones.indexOf('UTC') < 0) zones = ['UTC'].concat(zones);
    function field(key, label, input, hint) {
      var err = h('div', { class: 'field-error', id: 's-' + key + '-error', role: 'alert', hidden: true });
      input.setAttribute('aria-describedby', 's-' + key + '-hint s-' + key + '-error');
      return { err: err, input: input, el: h('div', { class: 'field' }, h('label', { for: input.id }, label), input, err,
        h('div', { class: 'hint', id: 's-' + key + '-hint' }, hint)) };
    }
    var cron = field('cron', 'Cron expression', h('input', { type: 'text', class: 'mono', id: 's-cron', name: 'cron', autocomplete: 'off', spellcheck: 'false', maxlength: 200, placeholder: '0 1 * * *' }),
      'Five fields: minute hour day-of-month month day-of-week, e.g. "0 1 * * *" for 01:00 every day, "30 22 * * 1-5" for 22:30 on weekdays; or @daily.');
    var tz = field('timezone', 'Time zone', h('input', { type: 'text', id: 's-timezone', name: 'timezone', autocomplete: 'off', spellcheck: 'false', maxlength: 100, list: 'tz-list', placeholder: 'Asia/Seoul' }),
      'An IANA zone name such as Asia/Seoul or UTC; the times above are read in it, daylight saving included.');
    var fields = { cron: cron, timezone: tz };
    var formMsg = h('div', { id: 'schedule-msg', 'aria-live': 'polite' });
    var save = h('button', { class: 'btn', type: 'submit', id: 'schedule-save' }, 'Save schedule');
    var remove = h('button', { class: 'btn btn-quiet', type: 'button', id: 'schedule-remove', hidden: true }, 'Remove schedule');
    function clearErrors() {
      clear(formMsg);
      Object.keys(fields).forEach(function (k) { fields[k].err.hidden = true; fields[k].err.textContent = ''; fields[k].input.removeAttribute('aria-invalid'); });
    }
    function showFieldError(err) {
      var key = (err.field || '').replace(/^schedule\./, '');
      var f = fields[key];
      if (!f) { append(formMsg, errorBanner(err, 'schedule-error')); return; }
      f.err.textContent = err.message.indexOf(err.field + ': ') === 0 ? err.message.slice(err.field.length + 2) : err.message;
      f.err.hidden = false;
      f.input.setAttribute('aria-invalid', 'true');
      f.input.focus();
    }
    var form = h('form', { class: 'schedule-form', id: 'schedule-form', novalidate: true, 'aria-labelledby': 'schedule-title', onsubmit: function (e) {
      e.preventDefault();
      clearErrors();
      save.disabled = true;
      api.put('/transport/' + enc(id) + '/schedule', { cron: cron.input.value, timezone: tz.input.value }, { signal: signal }).then(function (t) {
        save.disabled = false;
        st.t = t;
        render();
        append(formMsg, h('div', { class: 'banner banner-ok', role: 'status', id: 'schedule-saved' },
          'Schedule saved. ' + (t.schedule && t.schedule.next_run ? 'Next run ' + fmtZoned(t.schedule.next_run, t.schedule.timezone) + '.' : 'It is never due.')));
      }, function (err) {
        save.disabled = false;
        if (err.name === 'AbortError' || err.status === 401) return;
        showFieldError(err);
      });
    } },
      h('div', { class: 'grid2 tight' }, cron.el, tz.el),
      h('datalist', { id: 'tz-list' }, zones.map(function (z) { return h('option', { value: z }); })),
      formMsg,
      h('div', { class: 'actions' }, save, remove));
    remove.addEventListener('click', function () {
      clearErrors();
      remove.disabled = true;
      api.del('/transport/' + enc(id) + '/schedule', { signal: signal }).then(function () {
        return api.get('/transport/' + enc(id), { signal: signal });
      }).then(function (t) {
        remove.disabled = false;
        st.t = t;
        render();
        append(formMsg, h('div', { class: 'banner banner-ok', role: 'status', id: 'schedule-removed' }, 'Schedule removed: the transport runs only when executed.'));
      }, function (err) {
        remove.disabled = false;
        if (err.name === 'AbortError' || err.status === 401) return;
        append(formMsg, errorBanner(err, 'schedule-error'));
      });
    });

    function kv(pairs) {
      return h('dl', { class: 'kv' }, pairs.filter(Boolean).map(function (p) { return [h('dt', {}, p[0]), h('dd', { id: p[2] || null }, p[1])]; }));
    }
    function renderSchedule(t) {
      clear(schedView);
      var s = t.schedule;
      if (!s) {
        append(schedView, h('p', { id: 'schedule-none' }, 'No schedule: the transport runs only when executed.'));
      } else {
        var here = localZone();
        append(schedView, kv([
          ['Cron', h('code', { class: 'cell-text' }, s.cron), 'sched-cron'],
          ['Time zone', s.timezone, 'sched-tz'],
          ['Next run', s.next_run ? fmtZoned(s.next_run, s.timezone) + ' (' + s.timezone + ')' : 'never due', 'next-run-zone'],
          ['Your time', s.next_run ? fmtZoned(s.next_run) + (here ? ' (' + here + ')' : '') : '–', 'next-run-local']]));
      }
      var r = t.last_scheduled_run;
      if (r) {
        append(schedView, kv([['Last scheduled run', h('span', {}, badge(r.outcome), ' due ', fmtZoned(r.due_at, s ? s.timezone : ''), r.missed ? ' (missed while the server was down)' : '',
          r.job_id ? [' · ', h('a', { href: '#/job/' + enc(r.job_id) }, r.job_id), r.job_status ? ' ' + r.job_status : ''] : null,
          r.queue_id && !r.job_id ? ' · queued as ' + r.queue_id : null,
          r.reason ? h('div', { class: 'hint' }, r.reason) : null), 'last-scheduled']]));
      }
      remove.hidden = !s;
      save.textContent = s ? 'Change schedule' : 'Set schedule';
    }
    function renderWindows(t) {
      clear(windowView);
      var w = t.windows;
      if (!w || !w.allow || !w.allow.length) {
        append(windowView, h('p', { id: 'window-none', 'data-window': 'none' }, 'No window: runs may start at any time.'));
        return;
      }
      var stop = w.on_close === 'stop', ws = t.window_state;
      append(windowView, [kv([
        ws ? ['Now', h('span', { 'data-open': ws.open ? 'true' : 'false' }, ws.open ? 'open' : 'closed',
          !ws.open && ws.next_open ? [h('div', { class: 'hint' }, 'opens ' + fmtZoned(ws.next_open, w.timezone) + ' (' + w.timezone + ')'),
            h('div', { class: 'hint' }, 'your time ' + fmtZoned(ws.next_open))] : null), 'window-state'] : null,
        ['Allowed', h('ul', { class: 'plain', id: 'window-rules' }, w.allow.map(function (r) { return h('li', { class: 'mono' }, windowText(r)); })), 'window-allowed'],
        ['Time zone', w.timezone + (ws && ws.default ? ' · the server\u2019s default window' : ''), 'window-tz'],
        ['When it closes', h('span', { 'data-policy': stop ? 'stop' : 'finish' }, stop
          ? 'stop: a running job is interrupted; the next run resumes it'
          : 'finish: a running job runs to its end'), 'window-policy']]),
      h('p', { class: 'hint' }, 'Scheduled runs outside the window wait for it to open; Execute outside it asks before running anyway.')]);
    }
    function renderRetention(t) {
      clear(retentionView);
      var r = retentionState(t);
      append(retentionView, kv([
        ['Kept for', t.retention_days ? t.retention_days + ' days' : 'forever', 'retention-days'],
        ['Enforcement', h('span', {}, h('span', { class: 'badge ret-' + r.state, id: 'retention-state', 'data-state': r.state }, r.label),
          h('div', { class: 'hint cell-text', id: 'retention-detail' }, r.detail)), 'retention-enforcement']]));
    }
    function renderQueue() {
      if (st.queue === null) { clear(queueEl).hidden = true; return; }
      var names = {};
      names[id] = st.t ? st.t.name : '';
      queuePanel(queueEl, st.queue, names, id, signal, function (note) {
        loadQueue(signal).then(function (q) {
          st.queue = q;
          render();
          if (note) append($('#queue-msg'), h('div', { class: 'banner banner-ok', role: 'status', id: 'queue-note' }, note));
        }, function (err) { showErrorIn(queueEl, err); });
      });
    }
    function render() {
      var t = st.t;
      title.textContent = t.name;
      clear(sub);
      var pos = queuePositions(st.queue)[id];
      append(sub, [h('span', { class: 'mono' }, t.id), ' · ', badge(t.status), ' · ', t.tables.length + (t.tables.length === 1 ? ' table' : ' tables'),
        ' into ', h('span', { class: 'mono' }, t.target_bucket),
        ' · ', h('span', { id: 'queue-position', 'data-position': pos || 0 }, pos ? ordinal(pos) + ' in the queue' : 'not queued')]);
      renderSchedule(t);
      renderWindows(t);
      renderRetention(t);
      renderQueue();
    }

    page('transport', head, box, execBox, loading);
    Promise.all([api.get('/transport/' + enc(id), { signal: signal }), loadQueue(signal)]).then(function (res) {
      st.t = res[0];
      st.queue = res[1];
      loading.remove();
      var actions = $('#transport-actions');
      append(actions, [executeButton(st.t, execBox, signal, function () {
        loadQueue(signal).then(function (q) { st.queue = q; render(); }, function (err) { showErrorIn(queueEl, err); });
      }), h('a', { class: 'btn btn-quiet btn-small', href: withQuery('#/jobs', { transport_id: id }) }, 'History'),
        h('a', { class: 'btn btn-quiet btn-small', href: '#/transports' }, '← Transports')]);
      append(view, [
        h('div', { class: 'panel', id: 'schedule-panel' }, h('h2', { id: 'schedule-title' }, 'Schedule'), schedView, form),
        h('div', { class: 'grid2' },
          h('div', { class: 'panel', id: 'window-panel' }, h('h2', {}, 'Allowed window'), windowView),
          h('div', { class: 'panel', id: 'retention-panel' }, h('h2', {}, 'Retention'), retentionView)),
        queueEl]);
      var s = st.t.schedule;
      cron.input.value = s ? s.cron : '';
      tz.input.value = s ? s.timezone : (localZone() || 'UTC');
      render();
    }, function (err) {
      loading.remove();
      if (err.status === 404) { title.textContent = 'Transport ' + id; sub.textContent = ''; }
      showErrorIn(box, err);
    });
  }

  // -------------------------------------------------------------------- job

  function pageJob(jobID, signal) {
    var st = { job: null, tables: {}, order: [], rates: [], errors: [], overall: null, status: '', reconnects: 0, delays: [] };
    var head = h('div', { class: 'page-head' }, h('div', {}, h('h1', {}, 'Job ' + jobID), h('div', { class: 'sub', id: 'job-sub' }, 'Loading…')),
      h('span', { class: 'stream', id: 'stream-state', 'data-state': 'idle' }, ''));
    var msg = h('div', { id: 'job-msg' });
    var consist = h('div', {});
    var pctEl = h('span', { class: 'pct', id: 'overall-percent' }, '0 %');
    var barFill = h('span', {});
    var bar = h('div', { class: 'bar', id: 'overall-bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': 0, 'aria-label': 'Overall progress' }, barFill);
    var stats = h('div', { class: 'stats', id: 'job-stats' });
    var sparkNote = h('div', { class: 'hint spark-note', id: 'spark-note' });
    var spark = h('svg:svg', { class: 'spark', id: 'sparkline', viewBox: '0 0 100 40', preserveAspectRatio: 'none', role: 'img', 'aria-label': 'rows per second' });
    var tbody = h('tbody', {});
    var errList = h('ul', { class: 'events', id: 'job-errors' });
    var errPanel = h('div', { class: 'panel', hidden: true }, h('h2', {}, 'Errors'), errList);
    page('job', head, msg, consist,
      h('div', { class: 'panel' }, h('div', { class: 'progress-line' }, bar, pctEl), stats,
        h('div', { class: 'hint' }, 'Rows per second'), sparkNote, spark),
      errPanel,
      h('div', { class: 'panel' }, h('h2', {}, 'Tables'), h('div', { class: 'table-wrap' }, h('table', { class: 'list', id: 'job-tables' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Table'), h('th', {}, 'Status'), h('th', { class: 'num' }, 'Rows'), h('th', { class: 'num opt' }, 'Bytes'),
          h('th', { class: 'num opt' }, 'Rate'), h('th', {}, 'Progress'), h('th', { class: 'opt' }, 'Object'))), tbody))));

    function table(name) {
      if (!st.tables[name]) { st.tables[name] = { name: name, status: 'pending', rows: 0, bytes: 0, rate: 0, pct: 0, estimate: 0 }; st.order.push(name); }
      return st.tables[name];
    }
    function fromJob(j) {
      st.job = j;
      st.status = j.status;
      (j.tables || []).forEach(function (x) {
        var t = table(x.table_name);
        t.status = x.status; t.rows = x.row_count; t.bytes = x.bytes_transferred; t.estimate = x.row_estimate;
        t.path = x.gcs_path; t.crc = x.crc32c; t.error = x.error; t.consistency = x.consistency;
        t.mode = x.mode; t.window = x.window;
        if (x.status === 'completed') t.pct = 100;
        else if (x.row_estimate > 0) t.pct = Math.min(99, 100 * x.row_count / x.row_estimate);
      });
    }
    // overallPct is the stream's figure; before any progress event (a late
    // subscriber, a fast table) it is the tables' rows over their estimates.
    function overallPct() {
      if (st.status === 'completed') return 100;
      if (st.overall) return st.overall.progress_percent;
      var num = 0, den = 0;
      st.order.forEach(function (n) {
        var t = st.tables[n], est = t.status === 'completed' ? Math.max(t.rows, t.estimate) : t.estimate;
        if (est > 0) { den += est; num += Math.min(t.rows, est); }
      });
      return den > 0 ? Math.min(99, 100 * num / den) : 0;
    }
    function currentTables() {
      return st.order.filter(function (n) { return st.tables[n].status === 'running'; }).join(', ');
    }
    function render() {
      var j = st.job || {};
      var pct = overallPct();
      pctEl.textContent = (pct >= 100 || pct === 0 ? pct.toFixed(0) : pct.toFixed(1)) + ' %';
      bar.setAttribute('aria-valuenow', Math.round(pct));
      barFill.style.width = Math.max(0, Math.min(100, pct)) + '%';
      bar.classList.toggle('done', st.status === 'completed');
      bar.classList.toggle('failed', st.status === 'failed');
      var sub = $('#job-sub');
      clear(sub);
      append(sub, [badge(st.status), ' ', j.version || '', ' of ', j.transport_id ? h('a', { href: withQuery('#/jobs', { transport_id: j.transport_id }), id: 'job-transport' }, j.transport_id) : '…',
        ' · started ', fmtTime(j.started_at)]);
      sub.setAttribute('data-status', st.status);
      var rows = 0, bytes = 0, done = 0;
      st.order.forEach(function (n) { var t = st.tables[n]; rows += t.rows; bytes += t.bytes; if (t.status === 'completed') done++; });
      if (st.overall && st.status === 'running') { rows = Math.max(rows, st.overall.rows_processed); bytes = Math.max(bytes, st.overall.bytes_transferred); }
      var live = st.status === 'running' && st.overall;
      var rate = live ? st.overall.rows_per_second : (jobDuration(j) ? rows / jobDuration(j) : 0);
      clear(stats);
      [['Rows', fmtInt(rows), 'stat-rows'], [live ? 'Rows/s' : 'Rows/s (average)', rate ? fmtInt(rate) : '–', 'stat-rate'],
        ['Bytes', fmtBytes(bytes), 'stat-bytes'], ['Tables', done + ' / ' + (st.overall ? st.overall.tables_total : st.order.length), 'stat-tables'],
        ['Current table', st.status === 'running' ? (currentTables() || st.current || '–') : '–', 'stat-current'], ['Duration', fmtDur(jobDuration(j)), 'stat-duration']]
        .forEach(function (s) { append(stats, h('div', { class: 'stat' }, h('div', { class: 'k' }, s[0]), h('div', { class: 'v', id: s[2] }, s[1]))); });
      if (j.error) {
        clear(msg);
        append(msg, h('div', { class: 'banner banner-error', role: 'alert', id: 'job-error' }, 'Job failed: ' + j.error));
      }
      clear(consist);
      var apart = st.order.filter(function (n) { var c = st.tables[n].consistency; return c && !c.at_snapshot; });
      if (apart.length) {
        var snap = j.snapshot || {};
        append(consist, h('div', { class: 'banner banner-warn', role: 'status', id: 'job-consistency', 'data-tables': apart.join(',') },
          'Not one point in time: ' + apart.join(', ') + (apart.length === 1 ? ' was' : ' were') + ' not read at the job\'s snapshot' +
          (snap.id ? ' (' + (snap.kind === 'scn' ? 'SCN ' : '') + snap.id + ')' : '') + ' but at a moment of ' + (apart.length === 1 ? 'its' : 'their') + ' own.'));
      }
      clear(tbody);
      st.order.forEach(function (n) {
        var t = st.tables[n];
        var fill = h('span', {});
        fill.style.width = Math.max(0, Math.min(100, t.pct)) + '%';
        append(tbody, h('tr', { 'data-table': n, 'data-rows': t.rows, 'data-status': t.status },
          h('td', { class: 'mono' }, h('a', { href: '#/tables/' + enc(n) + '/sample' }, n), readWindow(t)),
          h('td', {}, badge(t.status), consistencyNote(t.consistency), t.error ? h('div', { class: 'hint err' }, t.error) : null),
          h('td', { class: 'num rows' }, fmtInt(t.rows), t.estimate && t.status !== 'completed' ? h('span', { class: 'opt' }, ' / ' + fmtInt(t.estimate)) : null),
          h('td', { class: 'num opt' }, fmtBytes(t.bytes)),
          h('td', { class: 'num opt' }, t.status === 'running' ? fmtRate(t.rate) : '–'),
          h('td', {}, h('div', { class: 'bar small' + (t.status === 'completed' ? ' done' : t.status === 'failed' ? ' failed' : '') }, fill)),
          h('td', { class: 'opt mono hint' }, t.path || '', t.crc ? h('div', {}, 'crc32c ' + t.crc) : null)));
      });
      if (!st.order.length) append(tbody, h('tr', {}, h('td', { colspan: 7, class: 'empty' }, 'No table started yet.')));
      renderSpark();
    }
    // readWindow says how an incremental table was read: its mode and
    // the watermark window (low exclusive, high inclusive).
    function readWindow(t) {
      var w = t.window;
      if (!w) return t.mode === 'incremental' ? h('div', { class: 'hint read-mode' }, 'incremental') : null;
      var text = t.mode === 'full' ? 'full read' + (w.full_reason ? ' (' + w.full_reason + ')' : '') + ', ' + w.watermark_column + ' up to ' + (w.high || '–')
        : 'incremental: ' + w.watermark_column + ' in (' + w.low + ', ' + (w.high || w.low) + '], overlap ' + w.overlap;
      if (w.null_watermarks > 0) text += ' · ' + fmtInt(w.null_watermarks) + ' NULL';
      return h('div', { class: 'hint read-mode', 'data-mode': t.mode || '' }, text);
    }
    // consistencyNote marks a table not read at the job's snapshot (e.g.
    // an Oracle READ ONLY transaction instead of AS OF SCN) with why.
    function consistencyNote(c) {
      if (!c || c.at_snapshot) return null;
      return h('div', { class: 'consistency' }, h('span', { class: 'badge warn', 'data-consistency': c.mode, title: c.reason || '' }, 'own point in time'),
        h('div', { class: 'hint' }, (c.mode || '').replace(/_/g, ' ') + (c.code ? ' · ' + c.code : '') + (c.reason ? ': ' + c.reason : '')));
    }
    function renderSpark() {
      clear(spark);
      var v = st.rates;
      sparkNote.hidden = v.length >= 2;
      if (v.length >= 2) spark.removeAttribute('hidden'); else spark.setAttribute('hidden', '');
      sparkNote.textContent = st.status === 'running' ? 'Waiting for progress samples…' : 'No progress samples for this job.';
      if (v.length < 2) return;
      var max = Math.max.apply(null, v) || 1, pts = v.map(function (r, i) { return (100 * i / (v.length - 1)).toFixed(2) + ',' + (38 - 36 * r / max).toFixed(2); });
      append(spark, h('svg:polygon', { class: 'area', points: '0,40 ' + pts.join(' ') + ' 100,40' }));
      append(spark, h('svg:polyline', { points: pts.join(' ') }));
      spark.setAttribute('data-samples', v.length);
    }
    function addError(d) {
      errPanel.hidden = false;
      var t = d.timestamp ? new Date(d.timestamp) : new Date();
      append(errList, h('li', { class: d.retrying ? 'retry' : '' }, h('time', {}, t.toLocaleTimeString()),
        (d.table ? d.table + ': ' : '') + (d.error || 'error') + (d.retrying ? ' (retrying, attempt ' + d.attempt + ')' : '') + (d.code ? ' [' + d.code + ']' : '')));
      st.errors.push(d);
    }
    var refresh = function () {
      return api.get('/jobs/' + enc(jobID), { signal: signal }).then(function (j) { fromJob(j); render(); });
    };
    var pending = false;
    function schedule() { if (!pending) { pending = true; requestAnimationFrame(function () { pending = false; render(); }); } }

    function onEvent(type, d) {
      if (d.job_id && d.job_id !== jobID) return; // the transport's other job
      if (type === 'table_start') { var t = table(d.table); t.status = 'running'; }
      else if (type === 'progress') {
        if (d.table) {
          var p = table(d.table);
          if (p.status === 'pending') p.status = 'running';
          p.rows = d.rows_processed; p.bytes = d.bytes_transferred; p.rate = d.rows_per_second; p.pct = d.progress_percent;
        }
        if (d.overall) { st.overall = d.overall; st.rates.push(d.overall.rows_per_second); if (st.rates.length > 120) st.rates.shift(); }
        st.current = d.current_table || d.table;
      } else if (type === 'table_complete') {
        var c = table(d.table);
        c.status = 'completed'; c.rows = d.total_rows; c.bytes = d.bytes_transferred; c.pct = 100; c.path = d.gcs_path; c.crc = d.crc32c;
        if (d.consistency) c.consistency = d.consistency;
      } else if (type === 'error') {
        if (d.code === 'shutting_down') st.shutdown = true;
        addError(d);
        if (d.table && !d.retrying) table(d.table).status = 'failed';
      } else if (type === 'complete') {
        st.status = d.status || 'completed';
        refresh().catch(function (err) { showErrorIn(msg, err); });
      }
      schedule();
    }
    var streamEl = $('#stream-state');
    function onState(s, info) {
      streamEl.setAttribute('data-state', s);
      if (s === 'reconnecting') {
        st.reconnects++;
        st.delays.push(Math.round(info.delay));
        streamEl.setAttribute('data-reconnects', st.reconnects);
        streamEl.setAttribute('data-delays', st.delays.join(','));
        streamEl.textContent = 'connection lost, reconnecting (attempt ' + info.attempt + ')…';
      } else if (s === 'live') streamEl.textContent = 'live';
      else if (s === 'ended') streamEl.textContent = 'stream ended';
      else if (s === 'failed') { streamEl.textContent = 'stream failed'; showErrorIn(msg, info.error); }
    }

    refresh().then(function () {
      if (st.status === 'running' || st.status === 'pending') {
        onState('connecting', {});
        streamEl.textContent = 'connecting…';
        streamStatus(st.job.transport_id, signal, { onState: onState, onEvent: onEvent });
      } else streamEl.textContent = 'finished';
    }, function (err) { showErrorIn(msg, err); });
  }

  // ----------------------------------------------------------------- jobs

  function pageJobs(query, signal) {
    var pg = parseInt(query.page, 10) || 1;
    var status = h('select', { id: 'f-status', name: 'status' },
      ['', 'running', 'completed', 'failed', 'pending'].map(function (s) { return h('option', { value: s, selected: s === (query.status || '') }, s || 'any status'); }));
    var trp = h('input', { type: 'text', id: 'f-transport', name: 'transport_id', placeholder: 'TRP-…', value: query.transport_id || '' });
    function apply(n) { go(withQuery('#/jobs', { status: status.value, transport_id: trp.value.trim(), page: n > 1 ? n : '' })); }
    var body = h('div', { class: 'loading' }, 'Loading jobs…');
    page('jobs',
      h('div', { class: 'page-head' }, h('h1', {}, 'Job history')),
      h('form', { class: 'panel filters', id: 'jobs-filter', onsubmit: function (e) { e.preventDefault(); apply(1); } },
        h('div', { class: 'field' }, h('label', { for: 'f-status' }, 'Status'), status),
        h('div', { class: 'field grow' }, h('label', { for: 'f-transport' }, 'Transport'), trp),
        h('button', { class: 'btn', type: 'submit', id: 'f-apply' }, 'Filter'),
        (query.status || query.transport_id) ? h('a', { class: 'btn btn-quiet', href: '#/jobs', id: 'f-reset' }, 'Reset') : null),
      h('div', { class: 'panel' }, body));
    status.addEventListener('change', function () { apply(1); });
    var q = withQuery('/jobs', { page: pg, page_size: 20, status: query.status, transport_id: query.transport_id });
    api.get(q, { signal: signal }).then(function (p) {
      clear(body).className = '';
      if (!p.items.length) {
        append(body, h('div', { class: 'empty', id: 'jobs-empty' }, (query.status || query.transport_id) ? 'No job matches these filters.' : 'No job has run yet. Execute a transport to start one.'));
        if (p.total > 0 && pg > 1) append(body, pager(p, apply));
        return;
      }
      append(body, h('div', { class: 'table-wrap' }, h('table', { class: 'list cards', id: 'jobs-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Job'), h('th', { class: 'opt' }, 'Transport'), h('th', {}, 'Status'), h('th', { class: 'opt' }, 'Started'),
          h('th', { class: 'num' }, 'Rows'), h('th', { class: 'num opt' }, 'Bytes'), h('th', { class: 'num opt' }, 'Duration'), h('th', { class: 'opt' }, 'Error'))),
        h('tbody', {}, p.items.map(function (j) {
          return h('tr', { 'data-job-id': j.id },
            h('td', { 'data-label': 'Job' }, h('div', {}, h('a', { href: '#/job/' + enc(j.id), class: 'mono nowrap' }, j.id), h('span', { class: 'hint' }, ' ' + j.version))),
            h('td', { class: 'opt' }, h('a', { class: 'mono', href: withQuery('#/jobs', { transport_id: j.transport_id }) }, j.transport_id)),
            h('td', { 'data-label': 'Status' }, badge(j.status)),
            h('td', { class: 'opt' }, fmtTime(j.started_at)),
            h('td', { class: 'num', 'data-label': 'Rows' }, fmtInt(j.total_rows)),
            h('td', { class: 'num opt' }, fmtBytes(j.bytes_transferred)),
            h('td', { class: 'num opt' }, fmtDur(jobDuration(j))),
            h('td', { class: 'opt err' }, j.error || ''));
        })))));
      append(body, pager(p, apply));
    }, function (err) { showErrorIn(body, err); });
  }

  // --------------------------------------------------------------- tables

  function pageTables(query, signal) {
    var pg = parseInt(query.page, 10) || 1;
    var search = h('input', { type: 'search', id: 'tables-search', placeholder: 'Search tables', value: query.q || '' });
    var exact = h('input', { type: 'checkbox', id: 'tables-exact', checked: query.exact === 'true' });
    function goPage(n) { go(withQuery('#/tables', { q: search.value.trim(), exact: exact.checked ? 'true' : '', page: n > 1 ? n : '' })); }
    var body = h('div', { class: 'loading' }, 'Loading tables…');
    page('tables',
      h('div', { class: 'page-head' }, h('h1', {}, 'Source tables')),
      h('form', { class: 'panel filters', onsubmit: function (e) { e.preventDefault(); goPage(1); } },
        h('div', { class: 'field grow' }, h('label', { for: 'tables-search' }, 'Search'), search),
        h('label', { class: 'field' }, h('span', {}, exact, ' exact row counts ', h('span', { class: 'hint' }, '(slower: counts every row)'))),
        h('button', { class: 'btn', type: 'submit' }, 'Search')),
      h('div', { class: 'panel' }, body));
    exact.addEventListener('change', function () { goPage(1); });
    api.get(withQuery('/tables', { q: query.q, exact: query.exact, page: pg, page_size: 50 }), { signal: signal }).then(function (p) {
      clear(body).className = '';
      if (!p.items.length) { append(body, h('div', { class: 'empty' }, query.q ? 'No table matches “' + query.q + '”.' : 'The source lists no table.')); return; }
      append(body, h('div', { class: 'table-wrap' }, h('table', { class: 'list', id: 'tables-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Table'), h('th', { class: 'num' }, 'Rows'), h('th', { class: 'num opt' }, 'Columns'), h('th', { class: 'opt' }, 'Comment'), h('th', {}, ''))),
        h('tbody', {}, p.items.map(function (t) {
          return h('tr', { 'data-table': t.name },
            h('td', { class: 'mono' }, (t.schema ? t.schema + '.' : ''), h('strong', {}, t.name)),
            h('td', { class: 'num' }, (t.rows_exact ? '' : '~') + fmtInt(t.rows)),
            h('td', { class: 'num opt' }, t.column_count),
            h('td', { class: 'opt hint' }, t.comment || ''),
            h('td', {}, h('a', { class: 'btn btn-quiet btn-small', href: '#/tables/' + enc(t.name) + '/sample', 'data-sample': t.name }, 'Sample')));
        })))));
      if (p.total > p.page_size) append(body, pager(p, goPage));
    }, function (err) { showErrorIn(body, err); });
  }

  function cell(v, col) {
    if (v === null || v === undefined) return h('td', { class: 'null' }, 'null');
    var s = typeof v === 'object' ? JSON.stringify(v) : String(v);
    var num = typeof v === 'number' || /^(decimal|int|float)/i.test(col.type || '');
    return h('td', { class: num ? 'n' : null, title: s.length > 40 ? s : null }, s);
  }

  function pageSample(name, signal) {
    var body = h('div', { class: 'loading' }, 'Reading the first 100 rows of ' + name + '…');
    var sub = h('div', { class: 'sub', id: 'sample-sub' }, '');
    page('sample',
      h('div', { class: 'page-head' }, h('div', {}, h('h1', {}, 'Sample of ', h('span', { class: 'mono' }, name)), sub),
        h('a', { class: 'btn btn-quiet', href: '#/tables' }, '← Tables')),
      body);
    api.get('/tables/' + enc(name) + '/sample', { signal: signal }).then(function (s) {
      clear(body).className = '';
      sub.textContent = fmtInt(s.count) + ' rows · ' + s.columns.length + ' columns · scroll sideways for more';
      if (!s.rows.length) { append(body, h('div', { class: 'panel empty' }, 'The table is empty.')); return; }
      var cols = s.columns;
      var thead = h('thead', {}, h('tr', {}, h('th', { class: 'rn' }, '#'), cols.map(function (c) {
        return h('th', { scope: 'col', 'data-col': c.name }, c.name, h('span', { class: 't' }, c.type + (c.precision ? '(' + c.precision + (c.scale ? ',' + c.scale : '') + ')' : '')));
      })));
      var tb = h('tbody', {});
      s.rows.forEach(function (r, i) {
        var tr = h('tr', {}, h('td', { class: 'rn' }, i + 1));
        cols.forEach(function (c) { tr.appendChild(cell(r[c.name], c)); });
        tb.appendChild(tr);
      });
      append(body, h('div', { class: 'sample-scroll', id: 'sample-scroll', tabindex: 0, 'aria-label': 'Sample rows of ' + name },
        h('table', { class: 'sample', id: 'sample-table', 'data-columns': cols.length, 'data-rows': s.rows.length }, thead, tb)));
    }, function (err) { showErrorIn(body, err); });
  }

  // --------------------------------------------------------------- status

  function pageStatus(signal) {
    var health = h('div', { class: 'loading' }, 'Checking…');
    var source = h('div', { class: 'loading' }, 'Checking the source…');
    var running = h('div', { class: 'loading' }, '…');
    page('status', h('div', { class: 'page-head' }, h('h1', {}, 'Health and source status')),
      h('div', { class: 'grid2' },
        h('div', { class: 'panel', id: 'health' }, h('h2', {}, 'Server'), health),
        h('div', { class: 'panel', id: 'source' }, h('h2', {}, 'Source'), source)),
      h('div', { class: 'panel', id: 'running' }, h('h2', {}, 'Running job'), running));
    function kv(pairs) {
      return h('dl', { class: 'kv' }, pairs.map(function (p) { return [h('dt', {}, p[0]), h('dd', { id: p[2] || null }, p[1])]; }));
    }
    api.get('/api/health', { signal: signal }).then(function (d) {
      clear(health).className = '';
      append(health, kv([['Status', badge(d.status === 'ok' ? 'completed' : 'failed'), 'health-status'], ['Version', d.version || '–'], ['Server time', fmtTime(d.timestamp)]]));
      $('#health-status .badge').textContent = d.status;
    }, function (err) { showErrorIn(health, err); });
    api.get('/oracle/status', { signal: signal, allow: [503] }).then(function (d) {
      clear(source).className = '';
      var pool = d.pool || {};
      append(source, kv([['Kind', d.kind], ['Reachable', badge(d.reachable ? 'completed' : 'failed'), 'source-reachable'], ['Version', d.version || '–'],
        ['Test query', d.latency_ms !== undefined ? d.latency_ms.toFixed(2) + ' ms' : '–'], ['Snapshot', d.current_snapshot || '–'],
        ['Pool', 'open ' + (pool.open || 0) + ' · in use ' + (pool.in_use || 0) + ' · idle ' + (pool.idle || 0) + ' · max ' + (pool.max_open || 0)],
        ['Checked', fmtTime(d.checked_at)]]));
      $('#source-reachable .badge').textContent = d.reachable ? 'reachable' : 'unreachable';
      if (d.error) append(source, h('div', { class: 'banner banner-error' }, d.error));
    }, function (err) { showErrorIn(source, err); });
    api.get('/jobs?status=running&page_size=1', { signal: signal }).then(function (p) {
      clear(running).className = '';
      if (!p.items.length) { append(running, h('div', { class: 'empty' }, 'No job is running.')); return; }
      var j = p.items[0];
      append(running, h('p', {}, h('a', { href: '#/job/' + enc(j.id) }, j.id + ' ' + j.version), ' of ', j.transport_id, ', started ', fmtTime(j.started_at)));
    }, function (err) { showErrorIn(running, err); });
  }

  // ------------------------------------------------------------------ boot

  $('#signout').addEventListener('click', function () {
    sessionStorage.removeItem(KEY);
    go('#/signin');
  });
  window.addEventListener('hashchange', route);
  route();
})();
