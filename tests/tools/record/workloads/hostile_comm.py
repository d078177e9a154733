"""Runs hostile.py under a thread name that is markup too (comm holds at most 15 bytes)."""
import ctypes, runpy
ctypes.CDLL(None).prctl(15, b"<i>'\"&x</i>", 0, 0, 0)
runpy.run_path("/srv/app/hostile.py", run_name="__main__")
