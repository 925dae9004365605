-- shout has nothing to configure: an empty config record.
return {
  name = "shout",
  fields = {
    { config = { type = "record", fields = {} } },
  },
}
