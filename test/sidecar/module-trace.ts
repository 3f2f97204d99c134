// Preloaded with `node --import` by process.test.ts: appends the URL of every module the process
// loads, one per line, to $MODULE_TRACE_FILE.
import { appendFileSync } from 'node:fs'
import module from 'node:module'

const file = process.env.MODULE_TRACE_FILE
module.registerHooks({
  load(url, context, next) {
    if (file) appendFileSync(file, `${url}\n`)
    return next(url, context)
  },
})
