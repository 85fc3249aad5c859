#!/usr/bin/env python3
"""gen_tracker.py OUT [--size MB] [--template FILE]: a synthetic Debian
Security Tracker JSON of about SIZE MB (default 80, the size of the real
/tracker/data/json), in the live service's compact serialisation.

Records are the template's (source, issue) records (default: the test
fixture tracker-bookworm-15src.json) with made-up source names and issue
ids drawn from a pool, so an issue recurs across sources as real ones do.
--desc keeps descriptions in that share of records only: less text, more
release entries per MB.  Deterministic (fixed seed).  Written as it goes: the generator does not
hold the document either.
"""
import argparse, json, os, random

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument('out')
ap.add_argument('--size', type=int, default=80)
ap.add_argument('--desc', type=float, default=1.0,
                help='share of records that keep their description (dense: 0.1)')
ap.add_argument('--template', default=os.path.join(
    here, '..', 'tests', 'data', 'debian-tracker', 'tracker-bookworm-15src.json'))
a = ap.parse_args()

tpl = [rec for recs in json.load(open(a.template)).values() for rec in recs.values()]
rnd = random.Random(14)
limit = a.size << 20
pool = ['CVE-%d-%d' % (1999 + i % 28, 1000 + i) for i in range(90000)]
written = 0
with open(a.out, 'w') as f:
    f.write('{')
    src = 0
    while written < limit:
        name = 'src%05d' % src
        issues = sorted(set(rnd.choice(pool) for _ in range(rnd.randint(1, 40))))
        recs = []
        for i in issues:
            rec = dict(rnd.choice(tpl))
            if rnd.random() >= a.desc:
                rec.pop('description', None)
            recs.append('%s:%s' % (json.dumps(i), json.dumps(rec, separators=(',', ':'))))
        body = ','.join(recs)
        chunk = '%s%s:{%s}' % (',' if src else '', json.dumps(name), body)
        f.write(chunk)
        written += len(chunk)
        src += 1
    f.write('}')
print('%s: %d sources, %.1f MB' % (a.out, src, os.path.getsize(a.out) / 1048576))
