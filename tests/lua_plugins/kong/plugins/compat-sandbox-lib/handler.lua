-- Test plugin: does nothing; its checks module serves compat-sandbox's schema.
return { PRIORITY = 1, VERSION = "1.0.0" }
