"""tools/bench-report against a made-up serial log: result lines among kernel noise."""

import json
import os
import subprocess
import tempfile
import unittest

TOOL = os.path.join(os.path.dirname(__file__), "..", "..", "tools", "bench-report")


def latency(heap, backend, size, median, ratio):
    return {"kind": "latency", "heap": heap, "backend": backend, "size": size, "samples": 15,
            "median_us": median, "p90_us": median * 1.5, "median_x_system": ratio,
            "p90_x_system": ratio, "host_calls_per_buffer": 2.0 if backend != "system" else 0.0,
            "driver_calls_per_buffer": 2.0, "s2_leaves_per_mib": 512.0,
            "hyp_validate_us": 10.0, "hyp_stage2_us": 20.0, "hyp_tlb_us": 5.0,
            "hyp_clean_us": 15.0, "hyp_scrub_us": 50.0}


def heap(name, backend, largest, cap, hash12):
    return {"kind": "heap", "heap": name, "backend": backend, "reserved_unused_bytes": 0,
            "churn_held_bytes": 36 << 20, "largest_after_churn_bytes": largest,
            "largest_is_cap": cap, "hash_mib_per_s_3m": hash12, "hash_x_hyp_3m": 1.0,
            "hash_status_3m": None, "hash_mib_per_s_12m": hash12, "hash_x_hyp_12m": 1.0,
            "hash_status_12m": None}


def read(path, limit=-1):
    with open(path) as f:
        return f.read(limit)


class BenchReportTest(unittest.TestCase):
    def run_tool(self, log_text):
        self.dir = tempfile.TemporaryDirectory()
        log = os.path.join(self.dir.name, "bench.log")
        with open(log, "w") as f:
            f.write(log_text)
        out = os.path.join(self.dir.name, "out")
        result = subprocess.run([TOOL, "--out", out, log], capture_output=True, text=True)
        return result, out

    def tearDown(self):
        if hasattr(self, "dir"):
            self.dir.cleanup()

    def test_tables_and_plot_from_result_lines_among_noise(self):
        records = [latency("system", "system", 4096, 100.0, 1.0),
                   latency("protected,secure-video", "hyp-pages", 4096, 500.0, 5.0),
                   heap("system", "system", 256 << 20, True, None),
                   heap("protected,secure-video", "hyp-pages", 200 << 20, False, 12.5),
                   {"kind": "irq_latency", "heap": "protected,secure-video",
                    "backend": "hyp-pages", "size": 64 << 20, "buffers": 3, "idle_samples": 800,
                    "idle_max_us": 4000.0, "idle_mean_us": 900.0, "busy_samples": 700,
                    "busy_max_us": 9000.0, "busy_mean_us": 2000.0, "max_x_idle": 2.25,
                    "hyp_preempted": 93}]
        text = "[    1.0] some kernel line\n"
        for r in records:
            text += "[    2.0] hh-bench-json: " + json.dumps(r) + "\n"
        text += "[    3.0] random: crng init done\n"
        result, out = self.run_tool(text)
        self.assertEqual(result.returncode, 0, result.stderr)
        md = read(os.path.join(out, "comparison.md"))
        self.assertIn("| protected,secure-video | hyp-pages | 4 KiB | 500.0 | 750.0 | 5.00 |", md)
        self.assertIn("| system | system | 0 | >= 256 MiB (search cap) |", md)
        # 100 us of hypervisor phases in a 500 us median
        self.assertIn("| protected,secure-video | hyp-pages | 4 KiB | 10.0 | 20.0 | 5.0 | 15.0 | 50.0 "
                      "| 20% |", md)
        self.assertIn("| 200 MiB | 12.50 |", md)
        self.assertIn("| protected,secure-video | hyp-pages | 64 MiB | 4000 | 9000 | 2.25 | 3 | 93 |",
                      md)
        self.assertEqual(json.loads(read(os.path.join(out, "comparison.json"))), records)
        svg = os.path.join(out, "comparison.svg")
        if os.path.exists(svg):
            self.assertIn("<svg", read(svg, 1000))
        else:
            self.assertIn("matplotlib is missing", result.stderr)

    def test_every_backend_reaches_the_tables_and_the_plot(self):
        backends = [("system", "system"), ("protected,secure-video", "hyp-pages"),
                    ("protected,secure-video-record", "hyp-cma"),
                    ("protected,bench-ffa-lend", "ffa-lend"),
                    ("protected,bench-carveout", "carveout")]
        records = []
        for size in (4096, 3 << 20):
            for i, (name, backend) in enumerate(backends):
                records.append(latency(name, backend, size, 100.0 * (i + 1), float(i + 1)))
        for i, (name, backend) in enumerate(backends):
            records.append(heap(name, backend, 64 << 20, False, None if i == 0 else 10.0 + i))
            records.append({"kind": "burst", "heap": name, "backend": backend, "pool": "none",
                            "size": 4096, "buffers": 32, "repeats": 3,
                            "us_per_buffer": 50.0 * (i + 1), "x_system": float(i + 1),
                            "host_calls_per_buffer": 0.0 if i == 0 else 4.0 / 32,
                            "driver_calls_per_buffer": 0.0, "s2_leaves_per_mib": 8.0,
                            "errno": None})
        records.append({"kind": "burst", "heap": "protected,bench-carveout",
                        "backend": "carveout", "pool": "none", "size": 3 << 20, "buffers": 8,
                        "repeats": 0, "us_per_buffer": None, "x_system": None,
                        "host_calls_per_buffer": None, "driver_calls_per_buffer": None,
                        "s2_leaves_per_mib": None, "errno": 12})
        text = "".join("hh-bench-json: " + json.dumps(r) + "\n" for r in records)
        result, out = self.run_tool(text)
        self.assertEqual(result.returncode, 0, result.stderr)
        md = read(os.path.join(out, "comparison.md"))
        for name, backend in backends:
            self.assertIn(f"| {name} | {backend} | 3 MiB |", md)
            self.assertIn(f"| {name} | {backend} | 4 KiB | 32 |", md)
        self.assertIn("| protected,bench-ffa-lend | ffa-lend | 4 KiB | 32 | 200.0 | 4.00 | 0.12 "
                      "| 0.00 | 8.0 |", md)
        self.assertIn("| protected,bench-carveout | carveout | 3 MiB | 8 | failed (errno 12) |", md)
        svg_path = os.path.join(out, "comparison.svg")
        if not os.path.exists(svg_path):
            self.assertIn("matplotlib is missing", result.stderr)
            return
        svg = read(svg_path)
        for name, backend in backends[1:]:
            self.assertIn(f"{backend} ({name})", svg)
        self.assertIn("32 x 4 KiB held", svg)

    def test_a_negative_count_is_refused(self):
        # A count per buffer cannot drop: a negative one means a counting window caught
        # another heap's pool worker (or missed its own), so no table may show it.
        for key in ("host_calls_per_buffer", "driver_calls_per_buffer", "s2_leaves_per_mib"):
            bad = latency("protected,secure-video", "hyp-pages", 4096, 500.0, 5.0)
            bad["pool"] = "warm"
            bad[key] = -0.75
            text = "".join("hh-bench-json: " + json.dumps(r) + "\n"
                           for r in (latency("system", "system", 4096, 100.0, 1.0), bad))
            result, out = self.run_tool(text)
            self.assertNotEqual(result.returncode, 0, key)
            self.assertIn(f"negative {key}", result.stderr)
            self.assertIn("protected,secure-video [warm] 4 KiB", result.stderr)
            self.assertFalse(os.path.exists(os.path.join(out, "comparison.md")), key)
            self.dir.cleanup()
        burst = {"kind": "burst", "heap": "protected,bench-ffa-lend", "backend": "ffa-lend",
                 "pool": "none", "size": 4096, "buffers": 32, "repeats": 3,
                 "us_per_buffer": 50.0, "x_system": 1.0, "host_calls_per_buffer": -0.03,
                 "driver_calls_per_buffer": 0.0, "s2_leaves_per_mib": 8.0, "errno": None}
        result, _ = self.run_tool("hh-bench-json: " + json.dumps(burst) + "\n")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("negative host_calls_per_buffer", result.stderr)

    def test_a_missing_value_is_plotted_as_missing(self):
        records = [latency("system", "system", 4096, 100.0, 1.0),
                   latency("protected,secure-video", "hyp-pages", 4096, 500.0, 5.0),
                   latency("protected,bench-carveout", "carveout", 4096, 300.0, None)]
        text = "".join("hh-bench-json: " + json.dumps(r) + "\n" for r in records)
        result, out = self.run_tool(text)
        self.assertEqual(result.returncode, 0, result.stderr)
        svg_path = os.path.join(out, "comparison.svg")
        if not os.path.exists(svg_path):
            self.skipTest("no matplotlib")
        # The carveout bar has no ratio: labelled n/a, not drawn as a 0.
        self.assertTrue("n/a" in read(svg_path), "no n/a label in the plot")

    def test_a_log_without_results_fails(self):
        result, _ = self.run_tool("[    1.0] hh-heap-bench: open failed\n")
        self.assertEqual(result.returncode, 1)
        self.assertIn("no 'hh-bench-json:' line", result.stderr)

    def test_a_broken_line_is_reported_and_skipped(self):
        good = json.dumps(latency("system", "system", 4096, 100.0, 1.0))
        result, out = self.run_tool(f"hh-bench-json: {{\"kind\": [6.5] usb\nhh-bench-json: {good}\n")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("unreadable result line", result.stderr)
        self.assertEqual(len(json.loads(read(os.path.join(out, "comparison.json")))), 1)


if __name__ == "__main__":
    unittest.main()
