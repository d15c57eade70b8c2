// placeholder until the first piece lands
