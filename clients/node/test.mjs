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
    admin.messages.send({ external_user_ids: ['u1'], messages: { email: { app_id: 'a', from: 'x@example.com', body: 'hi' } } }),
    501,
    'POST /messages/send is not implemented by Brazen yet',
  )
  await rejects(narrow.users.track({ attributes: [{ external_id: 'u1' }] }), 501, 'POST /users/track is not implemented by Brazen yet')
})
