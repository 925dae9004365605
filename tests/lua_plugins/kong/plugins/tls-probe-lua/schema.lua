-- tls-probe-lua: which server name makes the certificate handler fail.
return {
  name = "tls-probe-lua",
  fields = {
    { config = {
        type = "record",
        fields = {
          { fail_on = { type = "string" } },
        },
    } },
  },
}
