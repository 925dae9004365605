return {
  name = "sleepy",
  fields = {
    { config = {
        type = "record",
        fields = {
          { seconds = { type = "number", default = 0.2 } },
          { timer_delay = { type = "number", default = 0.05 } },
        },
    } },
  },
}
