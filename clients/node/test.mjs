// Runs the community Braze client `braze-api` (as a Braze user would) against
// a Brazen server. Started by cmd/brazen's TestNodeClient with BRAZEN_URL,
// BRAZEN_KEY (a key with every permission) and BRAZEN_NARROW_KEY (a key with
// users.track only).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Braze } from 'braze-api'

const url = process.env.BRAZEN_URL
const admin = new Braze(url, process.env.BRAZEN_KEY)
const narrow = new Braze(url, process.env.BRAZEN_NARROW_KEY)
const stranger = new Braze(url, '00000000-0000-0000-0000-000000000000')

// rejects asserts that a call fails with a Braze-shaped error.
async function rejects(promise, status, message) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.status, status, `status of ${err.message}`)
    assert.equal(err.message, message)
    return true
  })
}

test('an unknown key gets 401 Unauthorized', async () => {
  await rejects(stranger.users.track({ attributes: [{ external_id: 'u1', first_name: 'Ada' }] }), 401, 'Unauthorized')
})

test('a key without the permission gets 403 Access Denied', async () => {
  await rejects(narrow.campaigns.list({}), 403, 'Access Denied')
  await rejects(narrow.users.export.ids({ external_ids: ['u1'] }), 403, 'Access Denied')
})

test('an endpoint not built yet answers 501 naming itself', async () => {
  await rejects(
    admin.campaigns.trigger.send({ campaign_id: 'c-1', recipients: [{ external_user_id: 'u1' }] }),
    501,
    'POST /campaigns/trigger/send is not implemented by Brazen yet',
  )
})

test('messages.send queues a webhook message and answers with a dispatch id', async () => {
  const sent = await admin.messages.send({
    external_user_ids: ['u1'],
    messages: { webhook: { url: 'http://127.0.0.1:9/hook', request_method: 'POST', body: '{"hi":"{{${first_name}}}"}' } },
  })
  assert.equal(sent.message, 'success')
  assert.match(sent.dispatch_id, /^[0-9a-f]{24}$/)
  await rejects(admin.messages.send({ messages: { webhook: { url: 'http://127.0.0.1:9/hook', request_method: 'POST' } } }),
    400, 'No Recipients')
})

test('track, then export the profile', async () => {
  const tracked = await narrow.users.track({
    attributes: [{ external_id: 'node-1', first_name: 'Grace', email: 'grace@example.com', plan: 'pro', logins: { inc: 1 } }],
    events: [{ external_id: 'node-1', name: 'compiled', time: '2026-11-20T10:00:00Z', properties: { lang: 'cobol' } }],
    purchases: [{ external_id: 'node-1', product_id: 'manual', currency: 'USD', price: 4.5, quantity: 2, time: '2026-11-21T10:00:00Z' }],
  })
  assert.equal(tracked.message, 'success')
  assert.equal(tracked.attributes_processed, 1)
  assert.equal(tracked.events_processed, 1)
  assert.equal(tracked.purchases_processed, 1)

  const exported = await admin.users.export.ids({ external_ids: ['node-1', 'nobody'] })
  assert.equal(exported.message, 'success')
  assert.deepEqual(exported.invalid_user_ids, ['nobody'])
  const [user] = exported.users
  assert.equal(user.external_id, 'node-1')
  assert.equal(user.first_name, 'Grace')
  assert.equal(user.email, 'grace@example.com')
  assert.deepEqual(user.custom_attributes, { plan: 'pro', logins: 1 })
  assert.equal(user.custom_events[0].name, 'compiled')
  assert.equal(user.custom_events[0].count, 1)
  assert.equal(user.purchases[0].name, 'manual')
  assert.equal(user.purchases[0].count, 2)
  assert.equal(user.total_revenue, 9)
  assert.match(user.braze_id, /^[0-9a-f]{24}$/)
})

test('identity: alias, identify, rename, delete', async () => {
  await admin.users.alias.new({ user_aliases: [{ alias_name: 'anon-7', alias_label: 'crm' }] })
  await admin.users.identify({ aliases_to_identify: [{ external_id: 'node-2', user_alias: { alias_name: 'anon-7', alias_label: 'crm' } }] })
  const renamed = await admin.users.external_ids.rename({ external_id_renames: [{ current_external_id: 'node-2', new_external_id: 'node-3' }] })
  assert.deepEqual(renamed.external_ids, ['node-2'])
  assert.deepEqual(renamed.rename_errors, [])
  const byOld = await admin.users.export.ids({ external_ids: ['node-2'] })
  assert.equal(byOld.users[0].external_id, 'node-3')
  assert.deepEqual(byOld.users[0].user_aliases, [{ alias_name: 'anon-7', alias_label: 'crm' }])
  const deleted = await admin.users.delete({ external_ids: ['node-3'] })
  assert.equal(deleted.deleted, 1)
  const gone = await admin.users.export.ids({ external_ids: ['node-3'] })
  assert.deepEqual(gone.users, [])
})
