"""A bench-only clinic app whose one migration is the "trivial new migration" of
bench/scale.py. Installed only under bench.scale_settings with BENCH_SCALE_TRIVIAL=1."""
