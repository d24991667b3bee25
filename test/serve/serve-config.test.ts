// Unit tests of the [serve] section and the broker's extra rules: listen addresses, TLS pairs, loopback-only plain HTTP.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseServe } from '../../src/config/serve-section.js';
import { parseConfigText } from '../../src/config/load.js';
import { isLoopback, parseListen } from '../../src/config/listen.js';
import { serveSettings } from '../../src/serve/serve-rules.js';

test('listen addresses and loopback', () => {
  assert.deepEqual(parseListen('0.0.0.0:8443'), { host: '0.0.0.0', port: 8443 });
  assert.deepEqual(parseListen('[::1]:8443'), { host: '::1', port: 8443 });
  assert.deepEqual(parseListen('localhost:80'), { host: 'localhost', port: 80 });
  for (const bad of ['8443', ':8443', '0.0.0.0:99999', '[nothex]:1', 'a b:1', '0.0.0.0']) assert.equal(parseListen(bad), undefined, bad);
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.equal(isLoopback(h), true, h);
  for (const h of ['0.0.0.0', '10.0.0.1', '::', 'example.com', '128.0.0.1']) assert.equal(isLoopback(h), false, h);
});

test('[serve]: defaults, TLS pairs, plain HTTP only on loopback', () => {
  assert.deepEqual(parseServe(undefined), { listen: '127.0.0.1:8443', tls_cert: '', tls_key: '', audience: '', rate_limit: 20, max_cached: 10000 });
  assert.equal(parseServe({ listen: '0.0.0.0:8443', tls_cert: '/c.pem', tls_key: '/k.pem' }).listen, '0.0.0.0:8443');
  assert.throws(() => parseServe({ listen: '0.0.0.0:8443' }), /^ConfigError: \[serve\]\.listen = "0\.0\.0\.0:8443": without tls_cert\/tls_key/);
  assert.throws(() => parseServe({ listen: '[::]:8443' }), /\[serve\]\.listen/);
  assert.throws(() => parseServe({ tls_cert: '/c.pem' }), /\[serve\]\.tls_key: required/);
  assert.throws(() => parseServe({ tls_key: '/k.pem' }), /\[serve\]\.tls_cert: required/);
  assert.throws(() => parseServe({ tls_cert: 'c.pem', tls_key: '/k.pem' }), /absolute path/);
  assert.throws(() => parseServe({ listen: 'nope' }), /\[serve\]\.listen = "nope": expected host:port/);
  assert.throws(() => parseServe({ port: 1 }), /\[serve\]\.port: unknown key/);
  assert.throws(() => parseServe({ rate_limit: 0 }), /rate_limit/);
});

test('the broker needs an issuer and refuses instance-profile roles; the audience defaults to [gitlab].audience', () => {
  const base = '[serve]\nlisten = "127.0.0.1:8443"\n';
  assert.throws(() => serveSettings(parseConfigText(base, 't')), /\[gitlab\]\.url: required by jobrole serve/);
  const withGitlab = `${base}[gitlab]\nurl = "https://gitlab.example.com"\n`;
  assert.equal(serveSettings(parseConfigText(withGitlab, 't')).audience, 'https://gitlab.example.com');
  assert.equal(serveSettings(parseConfigText(withGitlab.replace('[gitlab]', 'audience = "https://broker"\n[gitlab]'), 't')).audience, 'https://broker');
  const swap = `${withGitlab}[driver]\nslots = 1\n[[roles]]\nname = "swap"\narn = "arn:aws:iam::111122223333:role/swap"\nstrategy = "instance-profile"\ninstance_profile = "p"\n`;
  assert.throws(() => serveSettings(parseConfigText(swap, 't')), /\[\[roles\]\] "swap"\.strategy = "instance-profile": jobrole serve cannot serve it/);
  // The driver itself still accepts that config: the rule is the broker's.
  assert.equal(parseConfigText(swap, 't').roles[0]?.strategy, 'instance-profile');
});
