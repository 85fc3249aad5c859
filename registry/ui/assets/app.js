// app.js: the customs web UI.  Plain DOM, no framework; every request goes
// to this origin's /v2/_customs/ API.  Data is put into the page as text
// nodes only, never as HTML.
//
// Sign-in: when the API answers 401, a form asks for a user and password.
// With --auth token it trades them at the token endpoint for a bearer
// token; with Basic it keeps the Basic credentials.  Either is kept in
// sessionStorage (this tab only, gone when it closes) and sent as an
// Authorization header by fetch().  No cookie is set, so nothing the
// browser attaches on its own authorises a request: another site cannot
// make the browser act as the user (CSRF), and the API is GET-only.
'use strict';

const SEV = ['critical', 'high', 'medium', 'low', 'unknown'];
const SEV_COLOR = {critical: '#8b0000', high: '#d9480f', medium: '#b8860b',
	low: '#2f6f9f', unknown: '#666'};
const PAGE = 200; // findings rows drawn at once

function h(tag, attrs, ...kids) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false) continue;
		if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
		else el.setAttribute(k, v === true ? '' : v);
	}
	for (const k of kids.flat(Infinity)) {
		if (k === null || k === undefined) continue;
		el.append(k instanceof Node ? k : String(k));
	}
	return el;
}

const AUTH_KEY = 'customs-auth';
function authHeaders(extra) {
	const a = sessionStorage.getItem(AUTH_KEY);
	return Object.assign(a ? {Authorization: a} : {}, extra || {});
}
// An API call wants a sign-in: the challenge says which kind.
class SignIn extends Error {
	constructor(challenge) { super('sign in'); this.challenge = challenge || ''; }
}
async function get(path, accept) {
	const r = await fetch(path, {credentials: 'same-origin',
		headers: authHeaders({Accept: accept || 'application/json'})});
	if (r.status === 401) {
		sessionStorage.removeItem(AUTH_KEY);
		throw new SignIn(r.headers.get('WWW-Authenticate'));
	}
	return r;
}
async function api(path) {
	const r = await get(path);
	const body = await r.json().catch(() => null);
	if (!r.ok) {
		const msg = body && body.errors ? body.errors[0].message : r.statusText;
		throw new Error(r.status + ' ' + msg);
	}
	return body;
}
// Calls fn once input has paused for ms (typing into a filter of
// thousands of rows redraws once, not per key).
function debounce(fn, ms) {
	let t = null;
	return () => { clearTimeout(t); t = setTimeout(fn, ms); };
}

const q = encodeURIComponent;
function badge(sev) {
	const s = sev || 'none';
	return h('span', {class: 'badge sev-' + s}, s);
}
function bytes(n) {
	if (n === null || n === undefined) return '';
	const u = ['B', 'KiB', 'MiB', 'GiB'];
	let i = 0;
	while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
	return n.toFixed(i ? 1 : 0) + ' ' + u[i];
}
// Where an advisory id is published (the API leaves it to the page).
function advisory(id) {
	id = id || '';
	if (id.startsWith('CVE-')) return 'https://nvd.nist.gov/vuln/detail/' + q(id);
	if (id.startsWith('GHSA-')) return 'https://github.com/advisories/' + q(id);
	return 'https://osv.dev/vulnerability/' + q(id);
}
function short(dg) { return dg ? dg.replace(/^sha256:/, '').slice(0, 12) : ''; }
function total(c) {
	return c && typeof c === 'object' ? SEV.reduce((a, s) => a + (c[s] || 0), 0) : 0;
}
function counts(c) {
	if (!c || typeof c !== 'object') return [h('td', {class: 'num'}, ''), h('td', {class: 'num'}, ''),
		h('td', {class: 'num'}, ''), h('td', {class: 'num'}, ''), h('td', {class: 'num'}, '')];
	return SEV.map(s => h('td', {class: 'num', 'data-sev': s}, c[s] || 0));
}
function route() {
	const hash = location.hash.slice(1) || '/';
	const i = hash.indexOf('?');
	return {path: i < 0 ? hash : hash.slice(0, i),
		args: new URLSearchParams(i < 0 ? '' : hash.slice(i + 1))};
}
// Marks (User Timing) say when a page's content and its chart were drawn:
// what bench/ui_pages.sh reads, and what DevTools' performance panel shows.
function mark(name) {
	if (performance.mark) performance.mark('customs-' + name);
}
function show(title, ...kids) {
	const m = document.getElementById('main');
	m.replaceChildren(h('h1', {}, title), ...kids);
	document.title = title + ' · customs';
	m.focus();
	mark('shown');
}
function fail(e) {
	show('Error', h('p', {class: 'err', role: 'alert'}, e.message));
}

// A table whose columns sort on a click (or Enter) of their header.
function sortable(cols, rows, render, caption) {
	let key = null, dir = 1;
	const tbody = h('tbody');
	const draw = () => {
		const list = key === null ? rows : rows.slice().sort((a, b) => {
			const x = cols[key].value(a), y = cols[key].value(b);
			return (x < y ? -1 : x > y ? 1 : 0) * dir;
		});
		tbody.replaceChildren(...list.map(render));
	};
	const head = cols.map((c, i) => h('th', {scope: 'col', class: c.num ? 'num' : null},
		c.value ? h('button', {type: 'button', 'aria-label': 'Sort by ' + c.name,
			onclick: () => { dir = key === i ? -dir : 1; key = i; draw(); }}, c.name) : c.name));
	draw();
	return h('table', {}, h('caption', {class: 'skip'}, caption), h('thead', {}, h('tr', {}, head)), tbody);
}

// --- Repositories ----------------------------------------------------------
async function pageRepos() {
	const data = await api('/v2/_customs/repositories');
	const repos = data.repositories;
	const filter = h('input', {type: 'search', id: 'repo-filter', 'aria-label': 'Filter repositories by name'});
	const sort = h('select', {id: 'repo-sort', 'aria-label': 'Sort repositories'},
		h('option', {value: 'risk'}, 'risk'), h('option', {value: 'recent'}, 'recency'),
		h('option', {value: 'name'}, 'name'));
	const tbody = h('tbody');
	const rank = r => { const i = SEV.indexOf(r.worst); return i < 0 ? 9 : i; };
	const draw = () => {
		const f = filter.value.trim();
		let list = repos.filter(r => r.name.includes(f));
		if (sort.value === 'risk')
			list.sort((a, b) => rank(a) - rank(b) || total(b.counts) - total(a.counts) || a.name.localeCompare(b.name));
		else if (sort.value === 'recent')
			list.sort((a, b) => (b.last_push || '').localeCompare(a.last_push || '') || a.name.localeCompare(b.name));
		else list.sort((a, b) => a.name.localeCompare(b.name));
		tbody.replaceChildren(...list.map(r => h('tr', {'data-repo': r.name},
			h('td', {}, h('a', {href: '#/repo?name=' + q(r.name)}, r.name),
				r.upstream ? [' ', h('span', {class: 'badge', title: 'pulled through'}, 'upstream ' + r.upstream)] : null),
			h('td', {class: 'num'}, r.tags), h('td', {}, r.last_push || ''), h('td', {}, r.last_scan || ''),
			h('td', {}, badge(r.worst)))));
	};
	filter.addEventListener('input', debounce(draw, 150));
	sort.addEventListener('change', draw);
	draw();
	show('Repositories', h('div', {class: 'controls'},
		h('label', {for: 'repo-filter'}, 'Filter', filter), h('label', {for: 'repo-sort'}, 'Sort by', sort)),
	h('table', {id: 'repos'}, h('caption', {class: 'skip'}, 'Repositories'),
		h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Repository'), h('th', {scope: 'col', class: 'num'}, 'Tags'),
			h('th', {scope: 'col'}, 'Last push'), h('th', {scope: 'col'}, 'Last scan'), h('th', {scope: 'col'}, 'Worst (newest image)'))), tbody));
}

// --- Repository ------------------------------------------------------------
// Findings per severity of every tag, in push order: a regression or a fix
// shows as a step.  Bars narrow as tags grow; past 1,000 the chart scrolls.
// From the series the API returns (tag names, counts as arrays).  Each
// severity is one <path> holding all its bars, so 1,000 tags draw in a
// handful of elements, not 6,000 that take longer to build and to paint
// than the rest of the page.  The tags, in order, are the svg's data-tags;
// one handler maps the pointer's x (or the arrow keys, when the chart has
// the focus) to a tag, and the line above the chart reads its counts.
// Returns [that line, the svg].
function chart(series) {
	const ns = 'http://www.w3.org/2000/svg';
	const s = (t, a) => { const e = document.createElementNS(ns, t);
		for (const k in a) e.setAttribute(k, a[k]); return e; };
	const r2 = v => Math.round(v * 100) / 100;
	const rows = [];
	series.tags.forEach((t, i) => { const c = series.counts[i]; if (Array.isArray(c)) rows.push([t, c]); });
	const max = rows.reduce((m, [, c]) => Math.max(m, c.reduce((a, n) => a + n, 0)), 1);
	const bw = Math.max(1, Math.min(18, Math.floor(960 / Math.max(1, rows.length)) - 2));
	const gap = bw > 4 ? 4 : 1, step = bw + gap, H = 120, W = Math.max(200, rows.length * step + 10);
	const segs = SEV.map(() => []);
	rows.forEach(([, c], i) => {
		let y = H;
		const x = 5 + i * step;
		SEV.forEach((sev, k) => {
			const n = c[k] || 0, hh = n / max * (H - 10);
			if (!n) return;
			y -= hh;
			segs[k].push('M' + x + ' ' + r2(y) + 'h' + bw + 'v' + r2(hh) + 'h-' + bw + 'z');
		});
	});
	const svg = s('svg', {id: 'chart-bars', class: 'chart', width: W, height: H + 20, role: 'img', tabindex: 0,
		'aria-label': 'Findings per severity across ' + rows.length + ' tags in push order' +
			(rows.length ? '; the arrow keys read each tag\'s counts' : ''),
		'aria-describedby': 'chart-tip', 'data-tags': rows.map(([t]) => t).join(' ')});
	const cur = s('rect', {class: 'cursor', x: 0, y: 0, width: step, height: H, visibility: 'hidden'});
	svg.append(cur);
	SEV.forEach((sev, k) => {
		const p = s('path', {'data-sev': sev, fill: SEV_COLOR[sev]});
		if (segs[k].length) p.setAttribute('d', segs[k].join(''));
		svg.append(p);
	});
	if (bw >= 12) rows.forEach(([tag], i) => {
		const lab = s('text', {x: 5 + i * step, y: H + 12});
		lab.textContent = tag.slice(0, 4);
		svg.append(lab);
	});
	const tip = h('p', {class: 'tip', id: 'chart-tip', 'aria-live': 'polite'},
		rows.length ? 'Point at a bar, or focus the chart and press ← →, to read a tag\'s counts.' : '');
	let at = -1;
	const read = i => {
		if (!rows.length) return;
		at = Math.max(0, Math.min(rows.length - 1, i));
		const [tag, c] = rows[at], said = [];
		SEV.forEach((sev, k) => { if (c[k]) said.push(c[k] + ' ' + sev); });
		tip.textContent = tag + ': ' + (said.join(', ') || 'no findings');
		cur.setAttribute('x', 5 + at * step - gap / 2);
		cur.setAttribute('visibility', 'visible');
	};
	const keys = {ArrowLeft: i => i - 1, ArrowRight: i => i + 1, Home: () => 0, End: () => rows.length - 1};
	svg.addEventListener('mousemove', e =>
		read(Math.floor((e.clientX - svg.getBoundingClientRect().left - 5 + gap / 2) / step)));
	svg.addEventListener('mouseleave', () => cur.setAttribute('visibility', 'hidden'));
	svg.addEventListener('focus', () => read(Math.max(at, 0)));
	svg.addEventListener('keydown', e => {
		if (!(e.key in keys)) return;
		e.preventDefault();
		read(keys[e.key](at));
	});
	return [tip, svg];
}

// A repository's chart series ({tags, counts}), a page (5,000 tags) at a
// time; with counts=0 the names only.
async function chartRows(name, extra) {
	const all = {tags: [], counts: []};
	let start = 0;
	for (let i = 0; i < 100 && start !== null; i++) {
		const d = await api('/v2/_customs/chart?repo=' + q(name) + '&series=1&start=' + start + (extra || ''));
		all.tags.push(...d.tags);
		if (d.counts) all.counts.push(...d.counts);
		start = d.next;
	}
	return all;
}

async function pageRepo(args) {
	const name = args.get('name'), last = args.get('last') || '';
	const prev = args.getAll('prev');
	// The chart's rows are asked for at once, after the page of tags.
	const dataP = api('/v2/_customs/tags?repo=' + q(name) + '&n=50' + (last ? '&last=' + q(last) : ''));
	const chartP = chartRows(name).catch(e => e);
	const data = await dataP;
	const link = (l, p) => '#/repo?name=' + q(name) + (l ? '&last=' + q(l) : '') + p.map(x => '&prev=' + q(x)).join('');
	const pager = h('nav', {class: 'pager', 'aria-label': 'Tag pages'},
		prev.length || last ? h('a', {href: link(prev[prev.length - 1] || '', prev.slice(0, -1))}, '← Previous') : null, ' ',
		data.next ? h('a', {href: link(data.next, [...prev, last])}, 'Next →') : null,
		' ', data.total + ' tags');
	const table = h('table', {id: 'tags'}, h('caption', {class: 'skip'}, 'Tags of ' + name),
		h('thead', {}, h('tr', {}, ['Tag', 'Digest', 'Platforms', 'Size', data.upstream ? 'Cached' : 'Pushed',
			'Scanned', 'Scan', ...SEV].map(c => h('th', {scope: 'col'}, c)))),
		h('tbody', {}, data.tags.map(t => h('tr', {'data-tag': t.tag},
			h('td', {}, h('a', {href: '#/image?name=' + q(name) + '&ref=' + q(t.tag)}, t.tag)),
			h('td', {class: 'mono', title: t.digest}, short(t.digest)),
			h('td', {}, (t.platforms || []).join(', ')), h('td', {class: 'num'}, bytes(t.size)),
			h('td', {}, t.pushed || ''), h('td', {}, t.scan.scanned || ''), h('td', {}, t.scan.status),
			counts(t.scan.counts)))));
	// The table first; the chart (every tag) when its rows are in.
	const box = h('div', {id: 'chart', 'aria-busy': 'true'}, h('p', {}, 'Loading the chart…'));
	show(name, h('h2', {}, 'Findings per tag'), box, pager, table);
	const rows = await chartP;
	mark('chart-rows');
	if (rows instanceof SignIn) throw rows;
	if (rows instanceof Error) box.replaceChildren(h('p', {class: 'err', role: 'alert'}, rows.message));
	else {
		box.replaceChildren(...chart(rows), h('p', {class: 'note'}, rows.tags.length + ' tags in push order'));
		mark('chart');
		// A frame's callback runs before its layout and paint; a task
		// queued from it runs after them.
		requestAnimationFrame(() => setTimeout(() => mark('chart-painted')));
	}
	box.removeAttribute('aria-busy');
}

// --- Image -----------------------------------------------------------------
function findingsTable(all, hostId) {
	const sev = h('select', {id: hostId + '-sev', 'aria-label': 'Severity'},
		h('option', {value: ''}, 'all'), SEV.map(s => h('option', {value: s}, s)));
	const ecos = [...new Set(all.map(f => f.ecosystem))].sort();
	const eco = h('select', {id: hostId + '-eco', 'aria-label': 'Ecosystem'},
		h('option', {value: ''}, 'all'), ecos.map(s => h('option', {value: s}, s)));
	const fix = h('input', {type: 'checkbox', id: hostId + '-fix', 'aria-label': 'Fix available'});
	const text = h('input', {type: 'search', id: hostId + '-text', 'aria-label': 'Search findings'});
	const count = h('p', {id: hostId + '-count', 'aria-live': 'polite'});
	const more = h('button', {type: 'button', id: hostId + '-more'}, 'Show more');
	const cols = [
		{name: 'Severity', value: f => SEV.indexOf(f.severity)}, {name: 'Id', value: f => f.id},
		{name: 'Package', value: f => f.package}, {name: 'Installed', value: f => f.installed},
		{name: 'Fixed', value: f => f.fixed || ''}, {name: 'Status', value: f => f.status || ''},
		{name: 'Ecosystem', value: f => f.ecosystem || ''}];
	let key = 0, dir = 1, shown = PAGE, list = all;
	const tbody = h('tbody');
	const row = f => h('tr', {},
		h('td', {}, badge(f.severity), ' ', h('small', {}, f.severity_source || '')),
		h('td', {}, h('a', {href: advisory(f.id), rel: 'noreferrer noopener', target: '_blank'}, f.id),
			f.aliases && f.aliases.length ? h('div', {}, h('small', {}, f.aliases.join(', '))) : null),
		h('td', {}, f.package, f.platform ? h('div', {}, h('small', {}, f.platform)) : null),
		h('td', {class: 'mono'}, f.installed), h('td', {class: 'mono'}, f.fixed || ''),
		h('td', {}, f.status || ''), h('td', {}, f.ecosystem || ''));
	// What the search box looks in, lower-cased once per finding.
	const hays = new Map();
	const haystack = f => { let s = hays.get(f);
		if (s === undefined) hays.set(f, s = [f.id, f.package, f.installed, f.fixed, f.summary,
			...(f.aliases || [])].filter(x => x).join('\n').toLowerCase());
		return s; };
	const draw = () => {
		const t = text.value.trim().toLowerCase();
		list = all.filter(f => (!sev.value || f.severity === sev.value) &&
			(!eco.value || f.ecosystem === eco.value) && (!fix.checked || f.fixed) &&
			(!t || haystack(f).includes(t)));
		list.sort((a, b) => { const x = cols[key].value(a), y = cols[key].value(b);
			return (x < y ? -1 : x > y ? 1 : 0) * dir; });
		tbody.replaceChildren(...list.slice(0, shown).map(row));
		count.textContent = list.length + ' of ' + all.length + ' findings';
		more.hidden = list.length <= shown;
	};
	for (const c of [sev, eco, fix]) c.addEventListener('change', () => { shown = PAGE; draw(); });
	text.addEventListener('input', debounce(() => { shown = PAGE; draw(); }, 200));
	more.addEventListener('click', () => { shown += PAGE * 5; draw(); });
	const head = cols.map((c, i) => h('th', {scope: 'col'}, h('button', {type: 'button',
		'aria-label': 'Sort by ' + c.name, onclick: () => { dir = key === i ? -dir : 1; key = i; draw(); }}, c.name)));
	draw();
	return h('section', {id: hostId},
		h('div', {class: 'controls'}, h('label', {for: sev.id}, 'Severity', sev), h('label', {for: eco.id}, 'Ecosystem', eco),
			h('label', {for: fix.id}, 'Fix available', fix), h('label', {for: text.id}, 'Search', text)),
		count, h('table', {}, h('thead', {}, h('tr', {}, head)), tbody), more);
}

// A download link.  Signed in through the form, the browser holds no
// credential of its own: the file is fetched with the header and saved
// from memory.
function download(href, id, label) {
	return h('a', {href: href, download: '', id: id, onclick: async ev => {
		if (!sessionStorage.getItem(AUTH_KEY)) return;
		ev.preventDefault();
		try {
			const r = await get(href, '*/*');
			if (!r.ok) throw new Error(r.status + ' ' + r.statusText);
			const cd = r.headers.get('Content-Disposition') || '';
			const m = /filename="([^"]+)"/.exec(cd);
			const a = h('a', {href: URL.createObjectURL(await r.blob()), download: m ? m[1] : 'report.json'});
			document.body.append(a);
			a.click();
			a.remove();
			setTimeout(() => URL.revokeObjectURL(a.href), 10000);
		} catch (e) { if (e instanceof SignIn) render(); else alert(e.message); }
	}}, label);
}

async function pageImage(args) {
	const name = args.get('name'), ref = args.get('ref'), plat = args.get('platform');
	const namesP = chartRows(name, '&counts=0').catch(e => e);
	const d = await api('/v2/_customs/image?repo=' + q(name) + '&ref=' + q(ref) + (plat ? '&platform=' + q(plat) : ''));
	const img = d.image || {layers: [], packages: [], findings: []};
	const base = '#/image?name=' + q(name) + '&ref=' + q(ref);
	const kids = [
		h('p', {}, 'Digest ', h('code', {id: 'digest'}, d.digest), ' · scan ', h('strong', {id: 'scan-status'}, d.scan.status)),
		h('p', {id: 'policy'}, 'Policy: ', h('strong', {}, d.policy.verdict), ' — ', d.policy.why),
		h('p', {}, 'Report: ', download(d.downloads.json, 'dl-json', 'JSON'), ' · ',
			download(d.downloads.cyclonedx, 'dl-cdx', 'CycloneDX')),
	];
	if (d.platforms.length)
		kids.push(h('nav', {'aria-label': 'Platforms'}, 'Platforms: ', d.platforms.map(p =>
			[h('a', {href: base + '&platform=' + q(p.platform || ''),
				'aria-current': img.platform === p.platform ? 'page' : null}, p.platform || short(p.digest)), ' '])));
	kids.push(h('h2', {}, 'Layers'), sortable([
		{name: '#'}, {name: 'Digest'}, {name: 'Size', num: true, value: l => l.size},
		{name: 'Packages', num: true, value: l => l.packages}, {name: 'Created by'}],
	img.layers.map((l, i) => Object.assign({i: i + 1}, l)), l => h('tr', {},
		h('td', {}, l.i), h('td', {class: 'mono', title: l.digest}, short(l.digest)),
		h('td', {class: 'num'}, bytes(l.size)), h('td', {class: 'num'}, l.packages),
		h('td', {class: 'mono'}, l.created_by || '')), 'Layers'));
	// A group's list is drawn when it is opened: thousands of packages
	// cost nothing until then.
	kids.push(h('h2', {}, 'Packages'), h('div', {id: 'packages'}, img.packages.map(g => {
		const ul = h('ul');
		return h('details', {ontoggle: ev => { if (ev.target.open && !ul.firstChild)
			ul.append(...g.packages.map(p => h('li', {}, p.name + ' ' + p.version))); }},
		h('summary', {}, (g.ecosystem || '?') + ' in layer ' + short(g.layer) + ' (' + g.packages.length + ')'), ul);
	})));
	kids.push(h('h2', {}, 'Findings'), findingsTable(img.findings, 'findings'));
	kids.push(h('h2', {}, 'Referrers'), sortable([{name: 'Artifact type', value: r => r.artifact_type || ''},
		{name: 'Digest'}, {name: 'Size', num: true, value: r => r.size}], d.referrers, r => h('tr', {},
		h('td', {}, r.artifact_type || r.media_type), h('td', {class: 'mono'}, short(r.digest)),
		h('td', {class: 'num'}, bytes(r.size))), 'Referrers'));
	// Filled once the page is up: the tags newest first, names only.
	const other = h('select', {id: 'compare-with', 'aria-label': 'Compare with tag'});
	const out = h('div', {id: 'compare-out', 'aria-live': 'polite'});
	const go = h('button', {type: 'button', id: 'compare-go', onclick: async () => {
		try {
			const r = await api('/v2/_customs/diff?repo=' + q(name) + '&from=' + q(other.value) + '&to=' + q(ref));
			out.replaceChildren(h('h3', {}, 'Added since ' + other.value + ' (' + r.added.length + ')'),
				findingsTable(r.added, 'added'),
				h('h3', {}, 'Fixed since ' + other.value + ' (' + r.fixed.length + ')'),
				findingsTable(r.fixed, 'fixed'));
		} catch (e) { out.replaceChildren(h('p', {class: 'err', role: 'alert'}, e.message)); }
	}}, 'Compare');
	kids.push(h('h2', {}, 'Compare with another tag'), h('div', {class: 'controls'},
		h('label', {for: 'compare-with'}, 'Older tag', other), go), out);
	show(name + ':' + ref, ...kids);
	const tags = await namesP;
	if (tags instanceof Error) throw tags;
	const names = tags.tags.slice();
	other.append(...names.reverse().filter(t => t !== ref).map(t => h('option', {value: t}, t)));
}

// --- Status ----------------------------------------------------------------
// A table of rows (arrays of cells) under a header.
function table(id, head, rows, caption) {
	return h('table', {id: id}, h('caption', {class: 'skip'}, caption),
		h('thead', {}, h('tr', {}, head.map(c => h('th', {scope: 'col'}, c)))),
		h('tbody', {}, rows.map(r => h('tr', {}, r.map(c => h('td', {}, c))))));
}
function ago(iso) {
	if (!iso) return '';
	const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
	return s < 120 ? Math.round(s) + ' s ago' : s < 7200 ? Math.round(s / 60) + ' min ago' :
		s < 172800 ? Math.round(s / 3600) + ' h ago' : Math.round(s / 86400) + ' days ago';
}

async function pageStatus() {
	const [db, st] = await Promise.all([api('/v2/_customs/db'), api('/v2/_customs/status')]);
	const kids = [h('h2', {}, 'Vulnerability DB'),
		h('p', {id: 'db-version'}, 'Version ', db.version || 'none', db.age_s !== null ? ' · ' + Math.round(db.age_s / 3600) + ' h old' : '',
			db.stale ? ' · stale' : ''),
		h('h2', {}, 'Scan queue'),
		h('table', {id: 'queue'}, h('tbody', {}, Object.entries(db.scans).map(([k, v]) =>
			h('tr', {}, h('th', {scope: 'row'}, k), h('td', {class: 'num'}, v)))))];
	kids.push(h('h2', {}, 'Recent scan failures'), st.failures.length ?
		table('failures', ['When', 'Repository', 'Digest', 'Attempts', 'Error'], st.failures.map(f =>
			[h('span', {title: f.time || ''}, ago(f.time)), f.repository, h('code', {title: f.digest}, short(f.digest)),
				String(f.attempts), f.error || '']), 'Recent scan failures') :
		h('p', {id: 'failures-none'}, 'No scan has failed.'));
	// The feeds: one row a source (its age in hours), and the schedule.
	const u = db.update && typeof db.update === 'object' ? db.update : null;
	if (u) {
		const srcs = Array.isArray(u.sources) ? u.sources : [];
		const cols = [...new Set(srcs.flatMap(f => Object.keys(f)))];
		const cell = (k, v) => v === null || v === undefined ? '' : k === 'age_s' ? Math.round(v / 3600) + ' h' :
			typeof v === 'object' ? JSON.stringify(v) : String(v);
		kids.push(h('h2', {}, 'Feeds'), h('p', {id: 'feeds-schedule'},
			u.interval_s ? 'Updated every ' + Math.round(u.interval_s / 3600) + ' h' : 'No scheduled update',
			' · last run ', u.last_run ? ago(u.last_run) : 'never',
			u.last_error ? h('span', {class: 'err'}, ' · last error: ' + u.last_error) : ''),
		srcs.length ? table('feeds', cols.map(c => c === 'age_s' ? 'age' : c), srcs.map(f => cols.map(c => cell(c, f[c]))), 'Feeds') :
			h('p', {id: 'feeds-none'}, 'No feed configured.'));
	}
	kids.push(h('h2', {}, 'Upstreams'));
	if (!st.upstreams.length) kids.push(h('p', {id: 'upstreams-none'}, 'No upstream configured.'));
	else {
		const p = st.proxy || {};
		const errs = Object.entries(p.errors || {}).map(([k, v]) => v + ' ' + k.replace('_', ' ')).join(', ');
		kids.push(table('upstreams', ['Prefix', 'Upstream'], st.upstreams.map(u => [u.prefix || '(every name: mirror)', u.url || ''])),
			h('p', {id: 'upstream-health'}, 'Health: ', h('strong', {}, p.health || 'unknown'), ' · ',
				(p.transfers || 0) + ' transfers, ' + (p.failed || 0) + ' failed' + (errs ? ' (' + errs + ')' : '') +
				', ' + bytes(p.bytes || 0) + ' fetched'),
			table('cache', ['', 'Served from cache', 'Checked upstream (stale)', 'Fetched (miss)'],
				['manifests', 'blobs'].map(k => [k, String((p[k] || {}).hit || 0), String((p[k] || {}).stale || 0),
					String((p[k] || {}).miss || 0)]), 'Cache'));
	}
	// Only for admins: anyone else would get a 403 (an error in the console).
	if (st.metrics) try {
		const r = await get('/metrics', 'text/plain');
		if (r.ok) {
			const lines = (await r.text()).split('\n').filter(l => l && !l.startsWith('#'));
			kids.push(h('h2', {}, 'Metrics'), h('details', {}, h('summary', {}, lines.length + ' numbers'),
				h('pre', {id: 'metrics'}, lines.join('\n'))));
		}
	} catch (e) { /* not an admin, or no /metrics here */ }
	show('Status', ...kids);
}

// --- Sign-in -----------------------------------------------------------------
// The challenge's parameters: Bearer realm="...",service="...".
function challenge(c) {
	const out = {scheme: (c.split(' ')[0] || '').toLowerCase()};
	for (const m of c.matchAll(/(\w+)="([^"]*)"/g)) out[m[1]] = m[2];
	return out;
}
function b64(s) {
	return btoa(Array.from(new TextEncoder().encode(s), b => String.fromCharCode(b)).join(''));
}
function pageSignIn(c) {
	const ch = challenge(c);
	const user = h('input', {id: 'signin-user', name: 'username', autocomplete: 'username', required: true});
	const pass = h('input', {id: 'signin-pass', name: 'password', type: 'password', autocomplete: 'current-password', required: true});
	const msg = h('p', {id: 'signin-msg', role: 'alert'});
	const form = h('form', {id: 'signin', onsubmit: async ev => {
		ev.preventDefault();
		msg.textContent = '';
		try {
			if (ch.scheme === 'bearer') {
				// Our own token endpoint, same origin (a realm elsewhere
				// would need that service's own sign-in).
				const body = new URLSearchParams({grant_type: 'password', username: user.value,
					password: pass.value, client_id: 'customs-ui', service: ch.service || 'customs',
					scope: 'registry:metrics:*'});
				const r = await fetch('/v2/_customs/token', {method: 'POST', credentials: 'omit',
					headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: body});
				const t = await r.json().catch(() => null);
				if (!r.ok || !t || !(t.access_token || t.token))
					throw new Error(r.status === 401 ? 'Wrong user name or password.' :
						(t && t.errors ? t.errors[0].message : r.status + ' ' + r.statusText));
				sessionStorage.setItem(AUTH_KEY, 'Bearer ' + (t.access_token || t.token));
			} else {
				sessionStorage.setItem(AUTH_KEY, 'Basic ' + b64(user.value + ':' + pass.value));
			}
			pass.value = '';
			render();
		} catch (e) { msg.textContent = e.message; }
	}}, h('div', {class: 'controls'}, h('label', {for: user.id}, 'User', user),
		h('label', {for: pass.id}, 'Password', pass),
		h('button', {type: 'submit', id: 'signin-go'}, 'Sign in')), msg);
	show('Sign in', h('p', {}, ch.scheme === 'bearer' ? 'This registry signs in with tokens: your password goes to its token endpoint once, and the token is kept in this tab only.' :
		'Your credentials are kept in this tab only.'), form);
	user.focus();
}

function signOut() {
	sessionStorage.removeItem(AUTH_KEY);
	render();
}

async function render() {
	const r = route();
	document.getElementById('nav-signout').hidden = !sessionStorage.getItem(AUTH_KEY);
	try {
		if (r.path === '/repo') await pageRepo(r.args);
		else if (r.path === '/image') await pageImage(r.args);
		else if (r.path === '/status') await pageStatus();
		else await pageRepos();
	} catch (e) {
		if (e instanceof SignIn) pageSignIn(e.challenge);
		else fail(e);
	}
	document.getElementById('nav-signout').hidden = !sessionStorage.getItem(AUTH_KEY);
}
window.addEventListener('hashchange', render);
document.addEventListener('DOMContentLoaded', () => {
	document.getElementById('nav-signout').addEventListener('click', signOut);
	render();
});
