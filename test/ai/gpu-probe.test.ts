/**
 * ai/gpu-probe on Linux-like trees made here: NVIDIA's model name from /proc/driver/nvidia, a
 * GPU maker's display device from /sys/class/drm, virtual adapters ignored, nothing found = null.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { linuxGpu } from "../../src/ai/gpu-probe.ts";

const roots: string[] = [];
afterAll(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "grove-gpu-"));
  roots.push(root);
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return root;
}

test("an NVIDIA card is named by the driver's model line", () => {
  const r = tree({
    "proc/driver/nvidia/gpus/0000:01:00.0/information": "Model: \t\t NVIDIA GeForce RTX 3060\nIRQ:   130\n",
    "sys/class/drm/card0/device/vendor": "0x10de\n",
  });
  expect(linuxGpu(r)).toBe("NVIDIA GeForce RTX 3060");
});

test("another maker's display device is named by its vendor; virtual adapters are not GPUs", () => {
  expect(linuxGpu(tree({ "sys/class/drm/card0/device/vendor": "0x1002\n", "sys/class/drm/card0/device/device": "0x73bf\n" }))).toBe(
    "AMD GPU (device 73bf)",
  );
  expect(
    linuxGpu(tree({ "sys/class/drm/card0/device/vendor": "0x1af4\n", "sys/class/drm/card0-Virtual-1/status": "connected\n" })),
  ).toBeNull();
  expect(linuxGpu(tree({ "sys/class/drm/card0/device/vendor": "0x1234\n", "sys/class/drm/card1/device/vendor": "0x8086\n" }))).toBe(
    "Intel GPU",
  );
});

test("no GPU: null", () => {
  expect(linuxGpu(tree({ "proc/cpuinfo": "processor: 0\n" }))).toBeNull();
});
