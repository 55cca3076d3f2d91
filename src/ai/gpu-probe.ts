/**
 * @module ai/gpu-probe — which GPU this machine has, for the cell card (capabilities.gpu) that
 * friends see when choosing whose model to ask. Read from what the system exposes, without
 * loading any driver or llama.cpp: NVIDIA's model name from /proc/driver/nvidia, else the
 * vendor of a display device in /sys/class/drm (virtual display adapters are not GPUs); on
 * macOS on Apple silicon, the chip's GPU, which llama.cpp uses through Metal. Null when none.
 * The measured tokens/s on the card says how fast the models really run.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** PCI vendor ids of GPU makers; virtual adapters (virtio 1af4, QEMU/Bochs 1234, VMware 15ad, Cirrus 1013) are left out. */
const VENDORS: Record<string, string> = { "0x10de": "NVIDIA", "0x1002": "AMD", "0x8086": "Intel", "0x5143": "Qualcomm", "0x13b5": "ARM" };

const read = (p: string): string | null => {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return null;
  }
};

/** The GPU of a Linux machine whose /proc and /sys are under `root` (tests pass a folder). */
export function linuxGpu(root = "/"): string | null {
  const nv = join(root, "proc/driver/nvidia/gpus");
  if (existsSync(nv)) {
    for (const bus of readdirSync(nv).sort()) {
      const model = /^Model:\s*(.+)$/m.exec(read(join(nv, bus, "information")) ?? "")?.[1]?.trim();
      if (model) return model.slice(0, 128);
    }
  }
  const drm = join(root, "sys/class/drm");
  if (!existsSync(drm)) return null;
  for (const card of readdirSync(drm)
    .filter((n) => /^card\d+$/.test(n))
    .sort()) {
    const vendor = read(join(drm, card, "device/vendor"))
      ?.trim()
      .toLowerCase();
    const device = read(join(drm, card, "device/device"))
      ?.trim()
      .toLowerCase();
    const maker = vendor ? VENDORS[vendor] : undefined;
    if (maker) return `${maker} GPU${device ? ` (device ${device.replace(/^0x/, "")})` : ""}`;
  }
  return null;
}

let cached: string | null | undefined;

/** This machine's GPU, or null (probed once). */
export function detectGpu(): string | null {
  if (cached !== undefined) return cached;
  cached = null;
  try {
    if (process.platform === "linux") cached = linuxGpu();
    else if (process.platform === "darwin" && process.arch === "arm64") {
      const chip = spawnSync("sysctl", ["-n", "machdep.cpu.brand_string"], { encoding: "utf8", timeout: 2000 }).stdout?.trim();
      cached = `${chip || "Apple silicon"} GPU (Metal)`.slice(0, 128);
    }
  } catch {
    cached = null;
  }
  return cached;
}
