// Misbehaves on purpose, chosen by the booking's id: the host must stop each misdeed at its named
// limit and keep serving. `samples/` says what each must produce.
import { defineMapper, log } from "@portico/plugin-sdk";

export const map = defineMapper((booking) => {
  switch (booking.id) {
    case "loop":
      for (;;) {}
    case "memory": {
      const hoard: string[] = [];
      for (let i = 0; ; i++) hoard.push("x".repeat(1 << 20) + i);
    }
    case "throw":
      throw new TypeError("the booking's answers were not what this plugin expected");
    case "logs":
      for (let i = 0; i < 100_000; i++) log.info(`line ${i} `.padEnd(1000, "."));
      return;
    default:
      return;
  }
});
