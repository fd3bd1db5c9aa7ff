// The stack on a user's engine and with a user's alerts, the pure parts: which socket `make up` mounts
// (scripts/docker-socket.ts), the alert site it renders from .env (scripts/stack-alerts.ts), and what
// `make test-alert` reads back (scripts/test-alert.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chooseSocket, DEFAULT_SOCKET, notASocket } from '../../scripts/docker-socket.js';
import { alertVariables, envText, stackSite } from '../../scripts/stack-alerts.js';
import { countsByIntegration, destinations } from '../../scripts/test-alert.js';
import { renderAlertmanager, siteFromEnvText } from '../../alerting-rules/files.js';

test('the socket: DOCKER_SOCKET, else a unix DOCKER_HOST, else the docker context, else the default; the context is asked only when needed', () => {
  let asked = 0;
  const context = (endpoint: string | undefined) => () => { asked += 1; return endpoint; };
  assert.equal(chooseSocket({ DOCKER_SOCKET: '/a.sock', DOCKER_HOST: 'unix:///b.sock', contextEndpoint: context('unix:///c.sock') }), { path: '/a.sock', origin: 'DOCKER_SOCKET' });
  assert.equal(chooseSocket({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock', contextEndpoint: context('unix:///c.sock') }), { path: '/run/user/1000/docker.sock', origin: 'DOCKER_HOST' });
  assert.is(asked, 0);
  assert.equal(chooseSocket({ DOCKER_SOCKET: '', DOCKER_HOST: '', contextEndpoint: context('unix:///run/user/1000/docker.sock') }), { path: '/run/user/1000/docker.sock', origin: 'the current docker context' });
  assert.equal(chooseSocket({ contextEndpoint: context('ssh://host') }), { path: DEFAULT_SOCKET, origin: 'the default' });
  assert.equal(chooseSocket({ contextEndpoint: context(undefined) }), { path: DEFAULT_SOCKET, origin: 'the default' });
  assert.is(asked, 3);
  const tcp = chooseSocket({ DOCKER_HOST: 'tcp://10.0.0.1:2376' });
  assert.ok('error' in tcp && tcp.error.startsWith('DOCKER_HOST=tcp://10.0.0.1:2376 is not a unix socket the stack can mount: name the engine'));
});

test('a path that is no socket, or not absolute: one line naming it, where it came from and how to choose another', () => {
  const choice = { path: '/run/user/1000/docker.sock', origin: 'the current docker context' };
  assert.is(notASocket(choice, () => true), undefined);
  assert.is(notASocket(choice, () => false), '/run/user/1000/docker.sock (from the current docker context) is not a socket: name the engine\'s socket with DOCKER_SOCKET=/path/to/docker.sock or DOCKER_HOST=unix:///path/to/docker.sock');
  assert.match(notASocket({ path: 'docker.sock', origin: 'DOCKER_SOCKET' }, () => true)!, 'docker.sock (from DOCKER_SOCKET) is not an absolute path');
});

test('the stack\'s alert site: .env over the site files, its secret files mounted and named by their mount', () => {
  const site = { HEADROOM_ALERT_SMTP_SMARTHOST: 'mailpit:1025', HEADROOM_ALERT_SMS_WEBHOOK_URL: '' };
  const demo = { HEADROOM_ALERT_SMS_WEBHOOK_URL: 'http://demo:8080/sms', HEADROOM_ALERT_SMS_TOKEN_FILE: '/etc/alertmanager/secrets/sms-gateway-token' };
  const envFile = alertVariables({ HEADROOM_ALERT_SMTP_SMARTHOST: 'smtp.example.org:587', HEADROOM_ALERT_SMTP_USERNAME: 'u', HEADROOM_ALERT_SMTP_PASSWORD_FILE: 'secrets/pw', MEMORY_LIMIT: '1G' });
  assert.not.ok('MEMORY_LIMIT' in envFile);
  const { variables, mounts } = stackSite([site, demo], [envFile, { HEADROOM_ALERT_SMS_TOKEN_FILE: '/home/me/token' }], '/home/me/stack');
  assert.equal(mounts, { ALERTMANAGER_SMTP_PASSWORD_SOURCE: '/home/me/stack/secrets/pw', ALERTMANAGER_SMS_TOKEN_SOURCE: '/home/me/token' });
  assert.equal(variables, {
    HEADROOM_ALERT_SMTP_SMARTHOST: 'smtp.example.org:587',
    HEADROOM_ALERT_SMS_WEBHOOK_URL: 'http://demo:8080/sms',
    HEADROOM_ALERT_SMS_TOKEN_FILE: '/etc/alertmanager/secrets/sms-gateway-token',
    HEADROOM_ALERT_SMTP_USERNAME: 'u',
    HEADROOM_ALERT_SMTP_PASSWORD_FILE: '/etc/alertmanager/secrets/smtp-password',
  });
  // Rendered by the one generator: auth with the mounted password file, the webhook with the mounted token.
  const rendered = renderAlertmanager({ site: siteFromEnvText(envText(variables)) });
  assert.match(rendered, 'smtp_auth_password_file: /etc/alertmanager/secrets/smtp-password');
  assert.match(rendered, 'credentials_file: /etc/alertmanager/secrets/sms-gateway-token');
  // An empty webhook URL is none: the page goes by mail alone.
  const mailOnly = renderAlertmanager({ site: siteFromEnvText(envText(stackSite([site], [], '/').variables)) });
  assert.not.match(mailOnly, 'sms');
});

test('make test-alert: where a receiver sends, and Alertmanager\'s notification counters by integration', () => {
  const config = renderAlertmanager({ site: siteFromEnvText('HEADROOM_ALERT_EMAIL_TO=ops@shop.example\nHEADROOM_ALERT_SMTP_SMARTHOST=mailpit:1025\nHEADROOM_ALERT_SMS_WEBHOOK_URL=http://hooks:1/page\n') });
  assert.equal(destinations(config, 'page'), [
    { integration: 'email', where: 'mail to ops@shop.example via mailpit:1025' },
    { integration: 'webhook', where: 'webhook http://hooks:1/page' },
  ]);
  assert.equal(destinations(config, 'absent'), []);
  const metrics = [
    '# TYPE alertmanager_notifications_total counter',
    'alertmanager_notifications_total{integration="email"} 3',
    'alertmanager_notifications_total{integration="webhook",receiver="page"} 1',
    'alertmanager_notifications_total{integration="webhook",receiver="autosize"} 2',
    'alertmanager_notifications_failed_total{integration="email"} 1',
  ].join('\n');
  assert.equal([...countsByIntegration(metrics, 'alertmanager_notifications_total')], [['email', 3], ['webhook', 3]]);
  assert.equal([...countsByIntegration(metrics, 'alertmanager_notifications_failed_total')], [['email', 1]]);
});

test.run();
