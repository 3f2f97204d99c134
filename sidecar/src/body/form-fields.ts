import { Busboy, type BusboyInstance } from '@fastify/busboy'

/** FormFields are the text fields of a multipart/form-data body and the sizes of its files. */
export interface FormFields {
  fields: Record<string, string>
  files: { field: string; bytes: number }[]
}

/** Bounds on what a form may hold; the APIs' own forms (images, audio) need far less. */
const LIMITS = { fields: 64, fieldSize: 1 << 20, files: 16, parts: 128, fieldNameSize: 100 }

/**
 * readFormFields parses a buffered multipart/form-data body (image edits, transcriptions) with
 * busboy, keeping the text fields (the model, n, size, quality, prompt) and only the size of each
 * file. It rejects with an Error naming the problem when the body is not a readable form or passes
 * a bound.
 */
export function readFormFields(contentType: string, body: Buffer): Promise<FormFields> {
  return new Promise((resolve, reject) => {
    const form: FormFields = { fields: {}, files: [] }
    let parser: BusboyInstance
    try {
      parser = new Busboy({ headers: { 'content-type': contentType }, limits: LIMITS })
    } catch (cause) {
      reject(new Error('read multipart form', { cause }))
      return
    }
    const fail = (what: string) => reject(new Error(`read multipart form: ${what}`))
    parser.on('field', (name, value, _nameTruncated, valueTruncated) => {
      if (valueTruncated) fail(`field ${name} is longer than ${LIMITS.fieldSize} bytes`)
      form.fields[name] = value
    })
    parser.on('file', (field, stream) => {
      let bytes = 0
      stream.on('data', (chunk: Buffer) => {
        bytes += chunk.length
      })
      stream.on('end', () => form.files.push({ field, bytes }))
    })
    parser.on('partsLimit', () => fail(`more than ${LIMITS.parts} parts`))
    parser.on('filesLimit', () => fail(`more than ${LIMITS.files} files`))
    parser.on('fieldsLimit', () => fail(`more than ${LIMITS.fields} fields`))
    parser.on('error', (cause) => reject(new Error('read multipart form', { cause })))
    parser.on('finish', () => resolve(form))
    parser.end(body)
  })
}
