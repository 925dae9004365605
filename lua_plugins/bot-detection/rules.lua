-- bot-detection's built-in list: PCRE patterns (matched with ngx.re.find, "jo") of
-- User-Agent values of crawlers, scrapers, vulnerability scanners, site copiers and
-- the HTTP libraries scripts use by default.  Written for Moongate; browsers, curl,
-- Wget and HTTP clients that name an application are not matched.
return {
  bots = {
    -- anything that calls itself a bot, spider, crawler or scraper (Googlebot/2.1,
    -- bingbot, AhrefsBot, MJ12bot, SemrushBot, Slackbot-LinkExpanding, YandexBot, ...)
    [[\b[A-Za-z0-9_.\-]*(?:[Bb]ot|[Ss]pider|[Cc]rawler|[Ss]craper|[Aa]rchiver|[Ii]ndexer)\b]],
    [[(?:Scrapy|[Cc]rawl[a-z]*|[Hh]arvest(?:er|man)|ia_archiver|heritrix|Nutch|larbin|BUbiNG)]],
    -- AI training and answer-engine scrapers that do not say "bot"
    [[(?:anthropic-ai|Claude-Web|cohere-ai|ChatGPT-User|Bytespider|omgili|Diffbot|Google-Extended|Applebot-Extended)]],
    -- vulnerability and port scanners
    [[(?i:sqlmap|nikto|nmap|masscan|zgrab|nuclei|wpscan|dirbuster|gobuster|feroxbuster|acunetix|netsparker|w3af|havij|zmeu|morfeus|jorgee|fimap|openvas|nessus|commix|whatweb|arachni|skipfish|paros|webinspect|appscan|l9explore|l9tcpid|censysinspect|internet-measurement)]],
    -- site copiers and address collectors
    [[(?:HTTrack|Offline Explorer|WebCopier|WebZIP|WebStripper|Teleport ?Pro|SiteSnagger|EmailCollector|EmailSiphon|EmailWolf|ExtractorPro|WebReaper|BlackWidow)]],
    -- default User-Agents of scripting libraries and headless browsers
    [[(?:Python-urllib|Go-http-client|Apache-HttpClient|okhttp|libwww-perl|lwp-trivial|PycURL|[Mm]echanize|PhantomJS|HeadlessChrome|Java/\d)]],
  },
}
