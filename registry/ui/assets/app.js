// app.js: the customs web UI.  Plain DOM, no framework; every request goes
// to this origin's /v2/_customs/ API (the page's own credentials).  Data is
// put into the page as text nodes only, never as HTML.
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
	for (const k of kids.flat()) {
		if (k === null || k === undefined) continue;
		el.append(k instanceof Node ? k : String(k));
	}
	return el;
}

async function api(path) {
	const r = await fetch(path, {credentials: 'same-origin',
		headers: {Accept: 'application/json'}});
	const body = await r.json().catch(() => null);
	if (!r.ok) {
		const msg = body && body.errors ? body.errors[0].message : r.statusText;
		throw new Error(r.status + ' ' + msg);
	}
	return body;
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
function show(title, ...kids) {
	const m = document.getElementById('main');
	m.replaceChildren(h('h1', {}, title), ...kids);
	document.title = title + ' · customs';
	m.focus();
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
			list.sort((a, b) => (b.last_scan || '').localeCompare(a.last_scan || '') || a.name.localeCompare(b.name));
		else list.sort((a, b) => a.name.localeCompare(b.name));
		tbody.replaceChildren(...list.map(r => h('tr', {'data-repo': r.name},
			h('td', {}, h('a', {href: '#/repo?name=' + q(r.name)}, r.name),
				r.upstream ? [' ', h('span', {class: 'badge', title: 'pulled through'}, 'upstream ' + r.upstream)] : null),
			h('td', {class: 'num'}, r.tags), h('td', {}, r.last_scan || ''),
			h('td', {}, badge(r.worst)))));
	};
	filter.addEventListener('input', draw);
	sort.addEventListener('change', draw);
	draw();
	show('Repositories', h('div', {class: 'controls'},
		h('label', {for: 'repo-filter'}, 'Filter', filter), h('label', {for: 'repo-sort'}, 'Sort by', sort)),
	h('table', {id: 'repos'}, h('caption', {class: 'skip'}, 'Repositories'),
		h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Repository'), h('th', {scope: 'col', class: 'num'}, 'Tags'),
			h('th', {scope: 'col'}, 'Last scan'), h('th', {scope: 'col'}, 'Worst (newest image)'))), tbody));
}

// --- Repository ------------------------------------------------------------
function chart(tags) {
	const ns = 'http://www.w3.org/2000/svg';
	const s = (t, a) => { const e = document.createElementNS(ns, t);
		for (const k in a) e.setAttribute(k, a[k]); return e; };
	const rows = tags.filter(t => t.scan && t.scan.counts && typeof t.scan.counts === 'object')
		.sort((a, b) => (a.scan.scanned || '').localeCompare(b.scan.scanned || ''));
	const max = Math.max(1, ...rows.map(t => total(t.scan.counts)));
	const bw = 18, H = 120, W = Math.max(200, rows.length * (bw + 4) + 10);
	const svg = s('svg', {class: 'chart', width: W, height: H + 20, role: 'img',
		'aria-label': 'Findings per severity across tags in scan order'});
	rows.forEach((t, i) => {
		let y = H;
		for (const sev of SEV) {
			const n = t.scan.counts[sev] || 0, hh = n / max * (H - 10);
			if (!n) continue;
			y -= hh;
			const r = s('rect', {x: 5 + i * (bw + 4), y: y, width: bw, height: hh, fill: SEV_COLOR[sev]});
			r.append(s('title', {}));
			r.firstChild.textContent = t.tag + ': ' + n + ' ' + sev;
			svg.append(r);
		}
		const lab = s('text', {x: 5 + i * (bw + 4), y: H + 12});
		lab.textContent = t.tag.slice(0, 4);
		svg.append(lab);
	});
	return svg;
}

async function pageRepo(args) {
	const name = args.get('name'), last = args.get('last') || '';
	const prev = args.getAll('prev');
	const data = await api('/v2/_customs/tags?repo=' + q(name) + '&n=50' + (last ? '&last=' + q(last) : ''));
	const link = (l, p) => '#/repo?name=' + q(name) + (l ? '&last=' + q(l) : '') + p.map(x => '&prev=' + q(x)).join('');
	const pager = h('nav', {class: 'pager', 'aria-label': 'Tag pages'},
		prev.length || last ? h('a', {href: link(prev[prev.length - 1] || '', prev.slice(0, -1))}, '← Previous') : null, ' ',
		data.next ? h('a', {href: link(data.next, [...prev, last])}, 'Next →') : null,
		' ', data.total + ' tags');
	const table = h('table', {id: 'tags'}, h('caption', {class: 'skip'}, 'Tags of ' + name),
		h('thead', {}, h('tr', {}, ['Tag', 'Digest', 'Platforms', 'Size', 'Scanned', 'Scan',
			...SEV].map(c => h('th', {scope: 'col'}, c)))),
		h('tbody', {}, data.tags.map(t => h('tr', {'data-tag': t.tag},
			h('td', {}, h('a', {href: '#/image?name=' + q(name) + '&ref=' + q(t.tag)}, t.tag)),
			h('td', {class: 'mono', title: t.digest}, short(t.digest)),
			h('td', {}, (t.platforms || []).join(', ')), h('td', {class: 'num'}, bytes(t.size)),
			h('td', {}, t.scan.scanned || ''), h('td', {}, t.scan.status),
			counts(t.scan.counts)))));
	show(name, h('h2', {}, 'Findings per tag'), chart(data.tags), pager, table);
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
		h('td', {}, h('a', {href: f.url, rel: 'noreferrer noopener', target: '_blank'}, f.id),
			f.aliases && f.aliases.length ? h('div', {}, h('small', {}, f.aliases.join(', '))) : null),
		h('td', {}, f.package, f.platform ? h('div', {}, h('small', {}, f.platform)) : null),
		h('td', {class: 'mono'}, f.installed), h('td', {class: 'mono'}, f.fixed || ''),
		h('td', {}, f.status || ''), h('td', {}, f.ecosystem || ''));
	const draw = () => {
		const t = text.value.trim().toLowerCase();
		list = all.filter(f => (!sev.value || f.severity === sev.value) &&
			(!eco.value || f.ecosystem === eco.value) && (!fix.checked || f.fixed) &&
			(!t || [f.id, f.package, f.installed, f.fixed, f.summary, ...(f.aliases || [])]
				.some(x => x && x.toLowerCase().includes(t))));
		list.sort((a, b) => { const x = cols[key].value(a), y = cols[key].value(b);
			return (x < y ? -1 : x > y ? 1 : 0) * dir; });
		tbody.replaceChildren(...list.slice(0, shown).map(row));
		count.textContent = list.length + ' of ' + all.length + ' findings';
		more.hidden = list.length <= shown;
	};
	for (const c of [sev, eco, fix]) c.addEventListener('change', () => { shown = PAGE; draw(); });
	text.addEventListener('input', () => { shown = PAGE; draw(); });
	more.addEventListener('click', () => { shown += PAGE * 5; draw(); });
	const head = cols.map((c, i) => h('th', {scope: 'col'}, h('button', {type: 'button',
		'aria-label': 'Sort by ' + c.name, onclick: () => { dir = key === i ? -dir : 1; key = i; draw(); }}, c.name)));
	draw();
	return h('section', {id: hostId},
		h('div', {class: 'controls'}, h('label', {for: sev.id}, 'Severity', sev), h('label', {for: eco.id}, 'Ecosystem', eco),
			h('label', {for: fix.id}, 'Fix available', fix), h('label', {for: text.id}, 'Search', text)),
		count, h('table', {}, h('thead', {}, h('tr', {}, head)), tbody), more);
}

async function pageImage(args) {
	const name = args.get('name'), ref = args.get('ref'), plat = args.get('platform');
	const d = await api('/v2/_customs/image?repo=' + q(name) + '&ref=' + q(ref) + (plat ? '&platform=' + q(plat) : ''));
	const img = d.image || {layers: [], packages: [], findings: []};
	const base = '#/image?name=' + q(name) + '&ref=' + q(ref);
	const kids = [
		h('p', {}, 'Digest ', h('code', {id: 'digest'}, d.digest), ' · scan ', h('strong', {id: 'scan-status'}, d.scan.status)),
		h('p', {id: 'policy'}, 'Policy: ', h('strong', {}, d.policy.verdict), ' — ', d.policy.why),
		h('p', {}, 'Report: ', h('a', {href: d.downloads.json, download: '', id: 'dl-json'}, 'JSON'), ' · ',
			h('a', {href: d.downloads.cyclonedx, download: '', id: 'dl-cdx'}, 'CycloneDX')),
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
	kids.push(h('h2', {}, 'Packages'), h('div', {id: 'packages'}, img.packages.map(g =>
		h('details', {}, h('summary', {}, (g.ecosystem || '?') + ' in layer ' + short(g.layer) + ' (' + g.packages.length + ')'),
			h('ul', {}, g.packages.map(p => h('li', {}, p.name + ' ' + p.version)))))));
	kids.push(h('h2', {}, 'Findings'), findingsTable(img.findings, 'findings'));
	kids.push(h('h2', {}, 'Referrers'), sortable([{name: 'Artifact type', value: r => r.artifact_type || ''},
		{name: 'Digest'}, {name: 'Size', num: true, value: r => r.size}], d.referrers, r => h('tr', {},
		h('td', {}, r.artifact_type || r.media_type), h('td', {class: 'mono'}, short(r.digest)),
		h('td', {class: 'num'}, bytes(r.size))), 'Referrers'));
	// Names only (the registry's own list): cheap for thousands of tags.
	const tags = await api('/v2/' + name + '/tags/list?n=10000');
	const other = h('select', {id: 'compare-with', 'aria-label': 'Compare with tag'},
		(tags.tags || []).filter(t => t !== ref).map(t => h('option', {value: t}, t)));
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
}

// --- Status ----------------------------------------------------------------
async function pageStatus() {
	const db = await api('/v2/_customs/db');
	const kids = [h('h2', {}, 'Vulnerability DB'),
		h('p', {id: 'db-version'}, 'Version ', db.version || 'none', db.age_s !== null ? ' · ' + Math.round(db.age_s / 3600) + ' h old' : '',
			db.stale ? ' · stale' : ''),
		h('h2', {}, 'Scan queue'),
		h('table', {id: 'queue'}, h('tbody', {}, Object.entries(db.scans).map(([k, v]) =>
			h('tr', {}, h('th', {scope: 'row'}, k), h('td', {class: 'num'}, v)))))];
	const up = db.update && db.update.feeds ? db.update.feeds : (Array.isArray(db.update) ? db.update : null);
	if (up) kids.push(h('h2', {}, 'Feeds'), h('pre', {}, JSON.stringify(up, null, 1)));
	else if (db.update) kids.push(h('h2', {}, 'Feeds'), h('pre', {}, JSON.stringify(db.update, null, 1)));
	try {
		const r = await fetch('/metrics', {credentials: 'same-origin'});
		if (r.ok) {
			const lines = (await r.text()).split('\n').filter(l => l && !l.startsWith('#'));
			const ups = lines.filter(l => l.includes('upstream') || l.includes('proxy'));
			kids.push(h('h2', {}, 'Upstreams'), ups.length ? h('pre', {id: 'upstreams'}, ups.join('\n')) : h('p', {}, 'No upstream configured.'));
			kids.push(h('h2', {}, 'Metrics'), h('details', {}, h('summary', {}, lines.length + ' numbers'),
				h('pre', {id: 'metrics'}, lines.join('\n'))));
		}
	} catch (e) { /* not an admin, or no /metrics here */ }
	show('Status', ...kids);
}

async function render() {
	const r = route();
	try {
		if (r.path === '/repo') await pageRepo(r.args);
		else if (r.path === '/image') await pageImage(r.args);
		else if (r.path === '/status') await pageStatus();
		else await pageRepos();
	} catch (e) { fail(e); }
}
window.addEventListener('hashchange', render);
document.addEventListener('DOMContentLoaded', render);
