print("fxbench: not yet")
