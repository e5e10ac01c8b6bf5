// Subscribe to channels with pusher-js itself, as a browser client of the platform would, and
// print what happened to each channel as one JSON object.
//
//   node subscribe.cjs '{"key", "wsPort", "authEndpoint", "token", "batch", "channels": [...]}'
//
// "batch": true authorizes through the pusher-js-auth plugin (one request, channel_name[i]);
// otherwise pusher-js's own request goes to the endpoint (socket_id, channel_name).
// Output, as the last line: {channel: {"ok": true, "me": presence member or null} | {"ok": false[, "status"]}}
// (the batch plugin hands pusher-js no status for a refused channel)
const Pusher = require("pusher-js");
const PusherBatchAuthorizer = require("pusher-js-auth");

const args = JSON.parse(process.argv[2]);
const options = {
  wsHost: "127.0.0.1",
  wsPort: args.wsPort,
  forceTLS: false,
  enabledTransports: ["ws"],
  disableStats: true,
  authEndpoint: args.authEndpoint,
  auth: { headers: { Authorization: `Bearer ${args.token}` } },
};
if (args.batch) options.authorizer = PusherBatchAuthorizer;

const pusher = new Pusher(args.key, options);
const results = {};
const finish = () => {
  pusher.disconnect();
  process.stdout.write("\n" + JSON.stringify(results) + "\n");
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
    // pusher-js's own authorizer reports {status}; the batch plugin hands on the channel's status
    settle(name, { ok: false, status: typeof error === "object" ? error.status : error });
  });
}
