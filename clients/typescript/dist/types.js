/**
 * The types of the client's API: routes and events, options, states,
 * sessions, and the minimal WebSocket it runs on.
 *
 * @module
 */
export {};
