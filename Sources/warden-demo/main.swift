print("warden-demo")
