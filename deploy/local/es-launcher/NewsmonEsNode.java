/*
 * Minimal launcher for a single Elasticsearch 9.x node assembled from Maven Central jars
 * (see deploy/local/elasticsearch.sh and README.md).
 *
 * Elastic stopped publishing the integ-test-zip distribution to Maven Central after 8.19.x, so
 * newsmon assembles the same content itself: the server jar and its dependencies on the classpath
 * (lib/), and the transport-netty4 module under modules/, loaded through the server's own
 * PluginsLoader exactly like the distribution does. This class replaces the parts of
 * org.elasticsearch.bootstrap.Elasticsearch that need the (unpublished) server-cli: it prepares the
 * Environment from config/elasticsearch.yml, configures logging, loads the modules and starts a Node.
 * Not done here (unlike the real launcher): entitlements, native libraries (lib/platform is not
 * published), bootstrap checks, keystore.
 *
 * It also registers GET/HEAD "/" (the "info" API, normally provided by the rest-root module, which is
 * not published either and is also absent from the 8.19 integ-test-zip), so that the Python client's
 * info()/ping() work.
 *
 * System properties: es.path.home (lib/, modules/, plugins/), es.path.conf (elasticsearch.yml,
 * log4j2.properties).
 */

import org.elasticsearch.Build;
import org.elasticsearch.client.internal.node.NodeClient;
import org.elasticsearch.cluster.ClusterName;
import org.elasticsearch.cluster.service.ClusterService;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.index.IndexVersion;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.PluginBundle;
import org.elasticsearch.plugins.PluginsLoader;
import org.elasticsearch.rest.RestChannel;
import org.elasticsearch.rest.RestController;
import org.elasticsearch.rest.RestHandler;
import org.elasticsearch.rest.RestRequest;
import org.elasticsearch.rest.RestResponse;
import org.elasticsearch.rest.RestStatus;
import org.elasticsearch.xcontent.XContentBuilder;

import java.lang.reflect.Method;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

public final class NewsmonEsNode {

    private NewsmonEsNode() {}

    public static void main(String[] args) {
        try {
            run();
        } catch (Throwable t) {
            System.err.println("newsmon-es: startup failed: " + t);
            t.printStackTrace();
            System.exit(1);
        }
    }

    private static void run() throws Exception {
        Path home = Path.of(required("es.path.home"));
        Path conf = Path.of(required("es.path.conf"));
        Settings input = Settings.builder().put("path.home", home.toString()).build();
        Environment env = InternalSettingsPreparer.prepareEnvironment(input, Map.of(), conf, () -> "newsmon-es");

        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(env.settings()));
        LogConfigurator.configure(env, true);

        Set<PluginBundle> modules = loadBundles("loadModulesBundles", env.modulesDir());
        Set<PluginBundle> plugins = loadBundles("loadPluginsBundles", env.pluginsDir());
        // withServerExports=false: the server runs on the class path (unnamed module), not as a module layer.
        var pluginsLoader = PluginsLoader.createPluginsLoader(modules, plugins, Map.of(), false);

        Node node = new Node(env, pluginsLoader);
        ClusterService clusterService = node.injector().getInstance(ClusterService.class);
        node.injector().getInstance(RestController.class).registerHandler(new RootHandler(env.settings(), clusterService));

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.prepareForClose();
                node.close();
                if (node.awaitClose(20, TimeUnit.SECONDS) == false) {
                    System.err.println("newsmon-es: node did not close within 20s");
                }
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "newsmon-es-shutdown"));

        node.start();
        System.out.println("newsmon-es: node started, Elasticsearch " + Build.current().qualifiedVersion());
        System.out.flush();
        stopped.await();
    }

    /**
     * PluginsLoader.loadModulesBundles/loadPluginsBundles take (Path) up to 9.2 and (Path, boolean serverless)
     * from 9.5 on; call whichever exists so one launcher source compiles against both.
     */
    @SuppressWarnings("unchecked")
    private static Set<PluginBundle> loadBundles(String method, Path dir) throws Exception {
        try {
            Method m = PluginsLoader.class.getMethod(method, Path.class, boolean.class);
            return (Set<PluginBundle>) m.invoke(null, dir, false);
        } catch (NoSuchMethodException e) {
            Method m = PluginsLoader.class.getMethod(method, Path.class);
            return (Set<PluginBundle>) m.invoke(null, dir);
        }
    }

    private static String required(String name) {
        String value = System.getProperty(name);
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("system property " + name + " is required");
        }
        return value;
    }

    /** GET/HEAD / : same body as the rest-root module's RestMainAction. */
    private static final class RootHandler implements RestHandler {
        private final Settings settings;
        private final ClusterService clusterService;

        RootHandler(Settings settings, ClusterService clusterService) {
            this.settings = settings;
            this.clusterService = clusterService;
        }

        @Override
        public List<Route> routes() {
            return List.of(new Route(RestRequest.Method.GET, "/"), new Route(RestRequest.Method.HEAD, "/"));
        }

        @Override
        public String getName() {
            return "newsmon_main_action";
        }

        @Override
        public void handleRequest(RestRequest request, RestChannel channel, NodeClient client) throws Exception {
            Build build = Build.current();
            XContentBuilder b = channel.newBuilder();
            b.startObject();
            b.field("name", Node.NODE_NAME_SETTING.get(settings));
            b.field("cluster_name", ClusterName.CLUSTER_NAME_SETTING.get(settings).value());
            b.field("cluster_uuid", clusterService.state().metadata().clusterUUID());
            b.startObject("version")
                .field("number", build.qualifiedVersion())
                .field("build_flavor", build.flavor())
                .field("build_type", build.type().displayName())
                .field("build_hash", build.hash())
                .field("build_date", build.date())
                .field("build_snapshot", build.isSnapshot())
                .field("lucene_version", IndexVersion.current().luceneVersion().toString())
                .field("minimum_wire_compatibility_version", build.minWireCompatVersion())
                .field("minimum_index_compatibility_version", build.minIndexCompatVersion())
                .endObject();
            b.field("tagline", "You Know, for Search");
            b.endObject();
            channel.sendResponse(new RestResponse(RestStatus.OK, b));
        }
    }
}
