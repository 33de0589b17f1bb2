# SPDX-License-Identifier: BSD-3-Clause
"""weir-bloat's parts (the program is apps/weir-bloat.py)."""
