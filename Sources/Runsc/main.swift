print("runsc")
