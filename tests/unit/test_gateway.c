/* test_gateway.c: the OpenAI-compatible API's body check and stream pass-through (common/gateway.h). */
#include <fcntl.h>
#include <unistd.h>

#include <json-c/json.h>

#include "check.h"
#include "gateway.h"

static char *models[] = {"fake-model", "other", NULL};
static struct config cfg = {.models = models, .n_models = 2};

/* Parses body; returns the refusal's status (0: accepted) and its code in *code. */
static int parse(const char *body, const char **code, struct gateway_call *call)
{
	struct gateway_refusal why = {0};
	int rc = gateway_parse(&cfg, body, strlen(body), call, &why);
	*code = rc < 0 ? why.code : NULL;
	return rc < 0 ? why.status : 0;
}

static void test_hostile(void)
{
	static const struct {
		const char *body, *code;
		int status;
	} cases[] = {
		{"", "invalid_json", 400},
		{"{", "invalid_json", 400},
		{"{} x", "invalid_json", 400},
		{"[]", "invalid_json", 400},
		{"\"model\"", "invalid_json", 400},
		{"{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "missing_required_parameter", 400},
		{"{\"model\":\"fake-model\"}", "missing_required_parameter", 400},
		{"{\"model\":null,\"messages\":[]}", "invalid_type", 400},
		{"{\"model\":\"gpt-4\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "model_not_found", 404},
		{"{\"model\":\"fake-model\",\"messages\":[]}", "invalid_type", 400},
		{"{\"model\":\"fake-model\",\"messages\":[1]}", "invalid_type", 400},
		{"{\"model\":\"fake-model\",\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", "invalid_value", 400},
		{"{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\"}]}", "missing_required_parameter", 400},
		{"{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\",\"content\":7}]}", "invalid_type", 400},
		{"{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"tool_calls\":[]}]}",
		 "unsupported_parameter", 400},
		{"{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}",
		 "unsupported_content", 400},
		{"{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":2}", "unsupported_value", 400},
		{"{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[]}",
		 "unsupported_parameter", 400},
		{"{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":3}",
		 "invalid_value", 400},
		{"{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":0}",
		 "invalid_value", 400},
		{"{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":1.5}",
		 "invalid_value", 400},
		{"{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[1]}", "invalid_type", 400},
		{"{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}",
		 "invalid_type", 400},
		{"{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":1}", "invalid_type", 400},
		{"{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		 "\"stream_options\":{\"include_usage\":true}}", "invalid_value", 400},
		{"{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":true,"
		 "\"stream_options\":{\"other\":1}}", "invalid_type", 400},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct gateway_call call;
		const char *code;
		int status = parse(cases[i].body, &code, &call);
		char name[160];
		snprintf(name, sizeof name, "refused %d %s: %.60s", cases[i].status, cases[i].code, cases[i].body);
		CHECK(status == cases[i].status && code && strcmp(code, cases[i].code) == 0, name);
		gateway_call_free(&call);
	}
}

static void test_accepted(void)
{
	struct gateway_call call;
	const char *code;
	int status = parse("{\"model\":\"other\",\"messages\":[{\"role\":\"system\",\"content\":\"s\"},"
			   "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"h\\u00e9\"}]}],"
			   "\"stream\":true,\"temperature\":0.5,\"stop\":\"x\",\"n\":1,\"seed\":3}", &code, &call);
	CHECK(status == 0 && call.stream && !call.include_usage && strcmp(call.model, "other") == 0,
	      "accepted: a stream of text parts");
	CHECK(call.chars == 3, "the messages' characters are counted (code points)");
	const char *up = json_object_to_json_string_ext(call.upstream, JSON_C_TO_STRING_PLAIN);
	CHECK(strstr(up, "\"stream_options\":{\"include_usage\":true}") != NULL,
	      "a stream always asks the provider for its usage");
	CHECK(strstr(up, "\"temperature\":0.5") && strstr(up, "\"seed\":3"), "the accepted options are passed on");
	gateway_call_free(&call);
}

/* Feeds chunks through a gateway_stream into a pipe; returns what came out (fresh). */
static char *through(int include_usage, const char *const *chunks, size_t n)
{
	int p[2];
	if (pipe(p) != 0)
		return NULL;
	struct response res;
	response_init(&res, p[1]);
	struct gateway_stream gs = {.res = &res, .include_usage = include_usage};
	for (size_t i = 0; i < n; i++)
		gateway_stream_feed(&gs, chunks[i], strlen(chunks[i]));
	gateway_stream_free(&gs);
	close(p[1]);
	static char out[4096];
	ssize_t got = read(p[0], out, sizeof out - 1);
	close(p[0]);
	out[got > 0 ? got : 0] = '\0';
	response_free(&res);
	return strdup(out);
}

static void test_stream(void)
{
	const char *const chunks[] = {
		"data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\r\n\r\ndata: {\"choi",
		"ces\":[],\"usage\":{\"total_tokens\":5}}\n\n: keep-alive\n\n",
		"data: {\"choices\":[{\"delta\":{}}],\"usage\":{\"total_tokens\":5}}\n\ndata: [DONE]\n\n",
	};
	char *plain = through(0, chunks, 3);
	CHECK_STR(plain, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n\n: keep-alive\n\n"
			 "data: {\"choices\":[{\"delta\":{}}]}\n\ndata: [DONE]\n\n",
		  "without include_usage: the usage chunk is dropped, usage in a choice chunk taken out, lines split "
		  "anywhere joined");
	free(plain);
	char *usage = through(1, chunks, 3);
	CHECK(strstr(usage, "\"choices\":[],\"usage\":{\"total_tokens\":5}") != NULL, "with include_usage: passed on as sent");
	free(usage);
}

int main(void)
{
	test_hostile();
	test_accepted();
	test_stream();
	return check_done();
}
