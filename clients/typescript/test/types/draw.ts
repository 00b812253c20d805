// The generated Draw client (message routes, optional headers, unions):
// correct uses must compile, misuses are pinned with `@ts-expect-error`.
// Never run.

import type { CallError, ErrorCode } from "@zocket/client";
import { createDrawClient, type Change, type Drawing } from "../../fixtures/draw.js";

export async function draw(drawing: Drawing): Promise<void> {
  const api = createDrawClient({ url: "wss://draw.example/ws", headers: { authToken: "t", level: null } });
  createDrawClient({ url: "wss://draw.example/ws", headers: { authToken: "t", level: "high", retries: 3 } });

  // A message: no reply, resolves with nothing.
  const sent: void = await api.draw.cursor({ x: 1, y: 2 });
  void sent;
  await api.client.send("draw.cursor", { x: 1, y: 2 });
  const count: number = await api.admin.wipe();
  const id: number = await api.draw.save(drawing);
  const found: Drawing | null = await api.draw.load(id);
  const names: Record<string, string> = await api.draw.list();
  void count, found, names;
  const r = await api.draw.load.result(1);
  if (!r.ok) {
    const error: CallError<ErrorCode> = r.error;
    void error;
  }
  api.draw.onChanged((change: Change) => {
    if (change.type === "Moved") console.log(change.data.dx + change.data.dy);
    else console.log(change.data.toUpperCase());
  });
  api.admin.onWiped((n) => console.log(n.toFixed(0)));

  // @ts-expect-error a message needs its input
  await api.draw.cursor();
  // @ts-expect-error x is a number
  await api.draw.cursor({ x: "1", y: 2 });
  // @ts-expect-error a message has no result()
  await api.draw.cursor.result({ x: 1, y: 2 });
  // @ts-expect-error the id is a number
  await api.draw.load("1");
  // @ts-expect-error authToken is required
  createDrawClient({ url: "wss://draw.example/ws", headers: { level: "low" } });
  // @ts-expect-error "medium" is not a Level
  createDrawClient({ url: "wss://draw.example/ws", headers: { authToken: "t", level: "medium" } });
  api.draw.onChanged((change) => {
    // @ts-expect-error `data` is a string only once narrowed to "Renamed"
    console.log(change.data.toUpperCase());
  });
  // @ts-expect-error the shape kind "hexagon" does not exist
  await api.draw.save({ ...drawing, shapes: [{ kind: "hexagon" }] });
}

// Tagged newtype variants keep their tag; flattened enums keep both sides;
// a definition named `Record` does not shadow TypeScript's own.
export async function items(): Promise<void> {
  const api = createDrawClient({ url: "wss://draw.example/ws", headers: { authToken: "t" } });
  const record = await api.draw.add([{ kind: "Layer", name: "base" }, { kind: "Note", text: "hi" }]);
  const byName: number | undefined = record.index["base"];
  void byName;
  await api.draw.stick({ label: "star", at: "top", x: 3 });
  // @ts-expect-error a Layer item needs its name
  await api.draw.add([{ kind: "Layer" }]);
  // @ts-expect-error a sticker at the top has an x, not a y
  await api.draw.stick({ label: "star", at: "top", y: 3 });
}
