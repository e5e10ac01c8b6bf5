// Subscribe to channels with pusher-js itself, as a browser client of the platform would, and
// print what happened to each channel as one JSON object.
//
//   node subscribe.cjs '{"key", "wsPort", "authEndpoint", "token", "batch", "channels": [...]}'
//
// "batch": true authorizes through the pusher-js-auth plugin (one request, channel_name[i]);
// otherwise pusher-js's own request goes to the endpoint (socket_id, channel_name).
// Output, as the last line: {"requests": auth requests sent, "channels": {channel: {"ok": true, "me":
// presence member or null} | {"ok": false, "status": HTTP status, or the batch answer's for the channel}}}
const Pusher = require("pusher-js");
const PusherBatchAuthorizer = require("pusher-js-auth");

const args = JSON.parse(process.argv[2]);
let requests = 0; // every auth request, pusher-js's own or the plugin's, goes through Runtime.createXHR
const createXHR = Pusher.Runtime.createXHR;
Pusher.Runtime.createXHR = function (...xhrArgs) {
  requests += 1;
  return createXHR.apply(this, xhrArgs);
};
// pusher-js 7 drops the status the plugin reports for a refused channel: keep it on the way
const refusedInBatch = {};
const batchAuthorizer = (channel, options) => {
  const plugin = PusherBatchAuthorizer(channel, options);
  return {
    authorize: (socketId, callback) => plugin.authorize(socketId, (error, data) => {
      if (error) refusedInBatch[channel.name] = data;
      callback(error, data);
    }),
  };
};
const options = {
  wsHost: "127.0.0.1",
  wsPort: args.wsPort,
  forceTLS: false,
  enabledTransports: ["ws"],
  disableStats: true,
  authEndpoint: args.authEndpoint,
  auth: { headers: { Authorization: `Bearer ${args.token}` } },
};
if (args.batch) options.authorizer = batchAuthorizer;

const pusher = new Pusher(args.key, options);
const results = {};
const finish = () => {
  pusher.disconnect();
  process.stdout.write("\n" + JSON.stringify({ requests, channels: results }) + "\n");
  process.exit(0);
};
const timer = setTimeout(() => {
  for (const channel of args.channels) results[channel] ??= { ok: false, status: "timeout" };
  finish();
}, 15000);

const settle = (channel, result) => {
  results[channel] = result;
  if (Object.keys(results).length === args.channels.length) {
    clearTimeout(timer);
    finish();
  }
};

for (const name of args.channels) {
  const channel = pusher.subscribe(name);
  channel.bind("pusher:subscription_succeeded", () => {
    const me = channel.members ? channel.members.me : null;
    settle(name, { ok: true, me });
  });
  channel.bind("pusher:subscription_error", (error) => {
    settle(name, { ok: false, status: args.batch ? refusedInBatch[name] : error.status });
  });
}
