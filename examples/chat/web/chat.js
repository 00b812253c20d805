// The typed client of the `Chat` API, generated from its Rust definition
// by zocket (`Chat::typescript()`). Do not edit: regenerate it instead.
import * as zocket from "@zocket/client";
/** The hash of the API schema this module was generated from; the server sends its own in `__ready.schemaHash`. */
export const schemaHash = "6e6db4bf4647701e";
/** Connects to a server of the `Chat` API (reconnecting and recovering its session on its own). */
export function createChatClient(options) {
    const client = new zocket.ZocketClient({ schemaHash, ...options });
    return {
        chat: {
            join: client.method("chat.join"),
            leave: client.method("chat.leave"),
            send: client.method("chat.send"),
            whoami: client.method("chat.whoami"),
            onMessage: client.subscriber("chat.message"),
        },
        client: client,
    };
}
